"""What the course overview and the module viewer read or render from content alone, kept until the next sync.

Content changes only when a sync writes it, and every learner of a course sees the same modules, steps,
lens bodies and resolved links; only statuses, counts and answers are theirs. So the pages take those
content parts from content_loader.kept's memo, keyed by the **content version** (read in the page's course
query, `kept.with_content_version`) and the ids they depend on, and overlay the learner's progress read
fresh on every request. A sync that changes nothing keeps the version and the memo; one that changes
something moves the version, and the next request of each page reads and renders it again. Anything
drafts can change (resolved links) is keyed by whether the reader previews drafts too, so a staff preview
never fills a learner's entry.

Kept objects are shared between requests and threads: callers only read them.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from django.db import connection
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from content_loader.kept import content_version, memo
from content_loader.models import ContentItem, ModuleEntry
from learn.links import resolve_segment_links
from learn.models import MeetingDate
from learn.segments import ship_skipped_text
from learners import Learner
from ops.lookups import UUIDs
from progress import queries


def course_progress(request: HttpRequest, course: ContentItem) -> queries.CourseProgress:
    """`progress.queries.course_progress` with the course's structure kept per content version."""
    structures = memo.get_or_build(
        ("course-structure", content_version(course), course.pk), lambda: queries.course_structures([course])
    )
    return queries.courses_progress_from(structures, learner=request.learner, courses=[course])[0]


def meeting_dates(course: ContentItem, today: date) -> dict[int, MeetingDate]:
    """The current run's meeting dates (`MeetingDate.objects.for_course_overview`); on PostgreSQL kept per
    content version and day, since a write to a run or its dates moves the version too (learn migration 0002).
    SQLite's version is read from the content items alone, so there they are read each time."""

    def build() -> dict[int, MeetingDate]:
        return MeetingDate.objects.for_course_overview(course_id=course.pk, today=today)

    if connection.vendor != "postgresql":
        return build()
    return memo.get_or_build(("meeting-dates", content_version(course), course.pk, today), build)


def module_progress(request: HttpRequest, course: ContentItem, module: ContentItem) -> queries.ModuleProgress:
    """`progress.queries.module_progress` with the module's steps kept per content version."""

    def build() -> tuple[list[ModuleEntry], UUIDs]:
        entries = ModuleEntry.objects.steps_by_module([module.pk]).get(module.pk, [])
        return entries, UUIDs(entry.item_id for entry in entries)

    entries, item_ids = memo.get_or_build(("module-entries", content_version(course), module.pk), build)
    learner: Learner | None = request.learner
    return queries.build_module_progress(module, entries, queries.progress_by_item(learner, item_ids))


def lens_segments(
    request: HttpRequest, *, lens_id: UUID, course: ContentItem, module: ContentItem, drafts: bool
) -> tuple[dict, list[dict]]:
    """A lens's body and its segments as this course and module show them (skipped text shipped apart,
    links resolved), kept per content version and per whether the reader previews drafts."""

    def build() -> tuple[dict, list[dict]]:
        body = ContentItem.objects.filter(pk=lens_id).values_list("body", flat=True).first() or {}
        segments = [segment for segment in body.get("segments", []) if isinstance(segment, dict)]
        segments = resolve_segment_links(
            ship_skipped_text(segments, lens_id=lens_id), course=course, module=module, drafts=drafts
        )
        return body, segments

    key = ("lens-segments", content_version(course), lens_id, course.pk, module.pk, drafts)
    return memo.get_or_build(key, build)


def rendered(course: ContentItem, name: str, state: tuple, context: dict) -> SafeString:
    """The template (partial) `name` rendered with `context`, kept per the course's content version and `state`.

    `state` must hold everything in `context` that is not content: the learner's part (a status, a count,
    which lens is current) and the ids that name the content. Rendered without the request: a kept
    fragment holds no CSRF token, no user and no draft banner.
    """
    key = ("rendered", content_version(course), name, *state)
    return memo.get_or_build(key, lambda: mark_safe(render_to_string(name, context).strip()))
