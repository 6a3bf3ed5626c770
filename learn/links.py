"""Wikilinks and cards inside lens content, resolved when the page renders.

The loader stores a link to another item as `<a class="content-link" data-content-id="UUID" href="#content-
UUID">` (content_loader/body.py): it cannot know where the learner will read the lens. Here, for one page:
- a lens placed in the module being read opens there, one placed elsewhere in the course being read opens
  in that module, any other lens opens its standalone page (`/lenses/<uuid>/<slug>/`);
- a test or a learning outcome opens where it is placed, in this course first;
- a module opens in this course, else in the first course that has it; a course opens its overview;
- a link to an article or a transcript (stored as the UUID of the lens that excerpts it) opens that lens;
- a `::card` becomes a card: what the target is, its title and its `tldr`, as one link.
What learners cannot open (retired, a draft, placed nowhere) is shown as text, never as a dead link.

All the targets of a page are looked up together: at most 3 queries, however many links it has.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from django.db.models import Q
from django.urls import reverse
from django.utils.text import slugify

from content_loader.models import ContentItem, ContentType, CourseEntry, ModuleEntry

# The exact markup content_loader.parsing.rendering writes (and nh3 keeps) for a wikilink or a card.
CONTENT_LINK = re.compile(
    r'<a class="(?P<css>content-link|content-card)" data-content-id="(?P<id>[0-9a-f-]{36})"'
    r'(?: data-target-kind="(?P<kind>\w+)")? href="#content-[0-9a-f-]{36}"(?: rel="[^"]*")?>(?P<label>.*?)</a>',
    re.DOTALL,
)
HTML_FIELDS = ("html", "content_html", "excerpt_html", "before_html", "after_html")
KIND_LABELS = {
    ContentType.LENS: "Lens",
    ContentType.TEST: "Test",
    ContentType.MODULE: "Module",
    ContentType.COURSE: "Course",
    ContentType.LEARNING_OUTCOME: "Learning outcome",
    "article": "Article",
    "video": "Video",
}


RESERVED_SLUGS = {"complete", "questions", "segments"}  # the standalone page's own routes (learn/urls.py)


@dataclass(frozen=True)
class Target:
    """Where one linked item opens, with what a card shows of it."""

    url: str
    kind: str
    title: str
    tldr: str
    here: bool = False  # a lens of the module being read: htmx swaps it into the viewer, as the drawer does


def standalone_lens_url(lens_id: UUID | str, title: str) -> str:
    """The lens's own page, outside any module: stable on its UUID, with a readable slug after it."""
    slug = slugify(title)[:80].strip("-") or "lens"
    if slug in RESERVED_SLUGS:
        slug += "-lens"
    return reverse("learn:standalone-lens", kwargs={"lens_id": lens_id, "slug": slug})


def linked_ids(segments: Iterable[dict]) -> set[UUID]:
    """The UUIDs that the segments' HTML links to."""
    found = set()
    for segment in segments:
        for name in HTML_FIELDS:
            value = segment.get(name)
            if value and "data-content-id" in value:
                found.update(UUID(match.group("id")) for match in CONTENT_LINK.finditer(value))
    return found


def resolve_targets(
    ids: set[UUID],
    *,
    course: ContentItem | None,
    module: ContentItem | None,
    drafts: bool = False,
    in_any_course: bool = False,
) -> dict[UUID, Target]:
    """Where each of `ids` opens from this course and module (None for a standalone page).

    `drafts`: the reader may preview drafts, so draft items and placements count too. `in_any_course`: a
    lens placed outside this course opens in the first course that has it, not on its standalone page
    (search results, which belong to no course).
    """
    if not ids:
        return {}
    items = ContentItem.objects.active() if drafts else ContentItem.objects.published()
    rows = list(items.filter(pk__in=ids).values_list("pk", "content_type", "title", "slug", "body__tldr"))
    placed_ids = {pk for pk, kind, *_ in rows if kind in (ContentType.LENS, ContentType.TEST)}
    outcome_ids = {pk for pk, kind, *_ in rows if kind == ContentType.LEARNING_OUTCOME}
    module_ids = {pk for pk, kind, *_ in rows if kind == ContentType.MODULE}
    visible = {"retired_at__isnull": True} if drafts else {"retired_at__isnull": True, "is_draft": False}
    course_filter = {f"course__{key}": value for key, value in visible.items()}

    # target -> [(module id, course id, course slug, module slug, item id)]: placements learners can open
    placements: dict[UUID, list[tuple]] = {}
    if placed_ids or outcome_ids:
        entries = (
            ModuleEntry.objects.filter(Q(item_id__in=placed_ids) | Q(learning_outcome_id__in=outcome_ids))
            .filter(**{f"module__{key}": value for key, value in visible.items()})
            .filter(**{f"module__course_placements__{key}": value for key, value in course_filter.items()})
            .order_by("module__course_placements__course__slug", "module__course_placements__position", "position")
            .values_list(
                "item_id",
                "learning_outcome_id",
                "module_id",
                "module__course_placements__course_id",
                "module__course_placements__course__slug",
                "module__slug",
            )
        )
        for item_id, outcome_id, entry_module_id, course_id, course_slug, module_slug in entries:
            place = (entry_module_id, course_id, course_slug, module_slug, item_id)
            if item_id in placed_ids:
                placements.setdefault(item_id, []).append(place)
            if outcome_id in outcome_ids:
                placements.setdefault(outcome_id, []).append(place)
    courses_of: dict[UUID, list[tuple[UUID, str, str]]] = {}
    if module_ids:
        for module_id, course_id, course_slug, module_slug in (
            CourseEntry.objects.filter(module_id__in=module_ids, **course_filter)
            .order_by("course__slug", "position")
            .values_list("module_id", "course_id", "course__slug", "module__slug")
        ):
            courses_of.setdefault(module_id, []).append((course_id, course_slug, module_slug))

    course_id = course.pk if course else None
    module_id = module.pk if module else None
    targets = {}
    for pk, kind, title, slug, tldr in rows:
        url, here = "", False
        if kind == ContentType.COURSE:
            url = reverse("learn:course", args=[slug])
        elif kind == ContentType.MODULE:
            options = courses_of.get(pk, [])
            chosen = next((o for o in options if o[0] == course_id), options[0] if options else None)
            if chosen:
                url = reverse("learn:module", kwargs={"course_slug": chosen[1], "module_slug": chosen[2]})
        else:
            options = placements.get(pk, [])
            chosen = next((o for o in options if o[0] == module_id and o[1] == course_id), None)
            here = chosen is not None
            chosen = chosen or next((o for o in options if o[1] == course_id), None)
            if chosen is None and kind == ContentType.LENS and not (in_any_course and options):
                url = standalone_lens_url(pk, title)
            else:
                chosen = chosen or (options[0] if options else None)
                if chosen:
                    _, _, course_slug, module_slug, item_id = chosen
                    url = reverse(
                        "learn:lens",
                        kwargs={"course_slug": course_slug, "module_slug": module_slug, "lens_id": item_id},
                    )
        if url:
            tldr = tldr if isinstance(tldr, str) else ""
            targets[pk] = Target(url=url, kind=kind, title=title, tldr=tldr, here=here)
    return targets


def rewrite_links(markup: str, targets: dict[UUID, Target]) -> str:
    """The HTML with each wikilink pointing at its target's page, each card a card; text where none."""

    def replace(match: re.Match[str]) -> str:
        target = targets.get(UUID(match.group("id")))
        label = match.group("label")
        card = match.group("css") == "content-card"
        if target is None:
            return f'<span class="{match.group("css")} unresolved">{label}</span>'
        url = html.escape(target.url)
        swap = f' hx-get="{url}"' if target.here else ""
        if not card:
            return f'<a class="content-link" href="{url}"{swap}>{label}</a>'
        kind = match.group("kind") or target.kind
        # An article's card names the article (the stored label); anything else's its current title.
        title = label if match.group("kind") else html.escape(target.title)
        tldr = "" if match.group("kind") else target.tldr
        summary = f'<span class="content-card__tldr">{html.escape(tldr)}</span>' if tldr else ""
        return (
            f'<a class="content-card" href="{url}"{swap}>'
            f'<span class="content-card__kind">{KIND_LABELS.get(kind, "")}</span>'
            f'<span class="content-card__title">{title}</span>{summary}</a>'
        )

    return CONTENT_LINK.sub(replace, markup)


def resolve_segment_links(
    segments: list[dict], *, course: ContentItem | None, module: ContentItem | None, drafts: bool = False
) -> list[dict]:
    """Copies of the segments with their wikilinks and cards resolved for this page (at most 3 queries)."""
    targets = resolve_targets(linked_ids(segments), course=course, module=module, drafts=drafts)
    resolved = []
    for segment in segments:
        copy = dict(segment)
        for name in HTML_FIELDS:
            value = copy.get(name)
            if value and "data-content-id" in value:
                copy[name] = rewrite_links(value, targets)
        resolved.append(copy)
    return resolved
