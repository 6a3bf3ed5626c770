"""Standalone lens pages: every published lens at its own URL, outside any module, and skipped text.

The page is the module viewer's lens without the module around it: the same segments, chat panels and
answer boxes, "Mark complete", time tracking. Progress is the lens's one row by UUID, so a lens completed
here is completed in every module that places it, and the other way round. The URL is stable on the UUID
(`/lenses/<uuid>/`); the slug after it is only for people, and a wrong or missing one redirects.
"""

from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from content_loader.access import previews_drafts
from content_loader.models import ContentItem, ContentType, ModuleEntry
from learn import services
from learn.links import resolve_segment_links, standalone_lens_url
from learn.segments import SKIPPED_PARTS, lens_blocks, ship_skipped_text, tutor_turned_off
from learn.views import questions
from learn.views.common import prompt_account_after, render_page
from ops.http import HtmxHttpRequest, safe_next
from progress.queries import progress_by_item
from progress.services import complete_content

LENS_NOT_FOUND = "There is no lens at this address: it may have been removed, or the link is mistyped."


def _lens(request: HtmxHttpRequest, lens_id: UUID, *, with_body: bool = True) -> ContentItem:
    """The active lens with this UUID that the reader may see (a draft only for who previews drafts)."""
    items = ContentItem.objects.active().filter(pk=lens_id, content_type=ContentType.LENS)
    lens = (items if with_body else items.defer("body")).first()
    if lens is None or (lens.is_draft and not previews_drafts(request.user)):
        raise Http404(LENS_NOT_FOUND)
    return lens


def _urls(lens: ContentItem) -> dict[str, str]:
    page_url = standalone_lens_url(lens.pk, lens.title)
    return {"page_url": page_url, "complete_url": reverse("learn:standalone-complete", args=[lens.pk])}


def _question_urls(lens: ContentItem):
    def urls(key: str) -> tuple[str, str]:
        kwargs = {"lens_id": lens.pk, "question_key": key}
        return reverse("learn:standalone-answer", kwargs=kwargs), reverse("learn:standalone-feedback", kwargs=kwargs)

    return urls


def _placements(lens: ContentItem, *, drafts: bool) -> list[dict]:
    """The modules (and their courses) that place this lens, for "Also in" links (1 query)."""
    visible = {} if drafts else {"module__is_draft": False, "module__course_placements__course__is_draft": False}
    rows = (
        ModuleEntry.objects.filter(
            item=lens,
            module__retired_at__isnull=True,
            module__course_placements__course__isnull=False,  # a module no course places leads nowhere
            module__course_placements__course__retired_at__isnull=True,
            **visible,
        )
        .order_by("module__course_placements__course__title", "module__course_placements__position")
        .values_list(
            "module__course_placements__course__slug",
            "module__course_placements__course__title",
            "module__slug",
            "module__title",
        )
        .distinct()
    )
    return [
        {
            "course_title": course_title,
            "module_title": module_title,
            "url": reverse("learn:module", kwargs={"course_slug": course_slug, "module_slug": slug}),
        }
        for course_slug, course_title, slug, module_title in rows
    ]


@require_safe
def standalone_lens(request: HtmxHttpRequest, lens_id: UUID, slug: str = "") -> HttpResponse:
    """A lens on its own page: its segments, chats and questions, "Mark complete" and where it is placed."""
    lens = _lens(request, lens_id)
    urls = _urls(lens)
    if request.path != urls["page_url"]:
        return redirect(urls["page_url"])
    return render_page(request, "learn/lens.html", _page_context(request, lens, urls))


def _page_context(request: HtmxHttpRequest, lens: ContentItem, urls: dict[str, str], **extra) -> dict:
    drafts = previews_drafts(request.user)
    progress = progress_by_item(request.learner, [lens.pk]).get(lens.pk)
    completed = progress is not None and progress.completed_at is not None
    segments = [segment for segment in lens.body.get("segments", []) if isinstance(segment, dict)]
    segments = resolve_segment_links(
        ship_skipped_text(segments, lens_id=lens.pk), course=None, module=None, drafts=drafts
    )
    has_chat = any(segment.get("type") == "chat" for segment in segments)
    return {
        "lens": lens,
        "tldr": lens.body.get("tldr", ""),
        "blocks": lens_blocks(
            request,
            lens=lens,
            segments=segments,
            page_url=urls["page_url"],
            locked=completed,
            question_urls=_question_urls(lens),
        ),
        "current_completed": completed,
        "tutor_off": tutor_turned_off(segments),
        "placements": _placements(lens, drafts=drafts),
        "heartbeat_seconds": settings.PROGRESS_HEARTBEAT_SECONDS,
        "inactivity_seconds": (
            settings.PROGRESS_CHAT_INACTIVITY_SECONDS if has_chat else settings.PROGRESS_INACTIVITY_SECONDS
        ),
        "draft_preview": lens.is_draft,
        **urls,
        **extra,
    }


@require_POST
def complete_standalone_lens(request: HtmxHttpRequest, lens_id: UUID) -> HttpResponse:
    """Mark a lens complete from its own page: HTMX gets the button, a plain form a redirect back."""
    lens = _lens(request, lens_id, with_body=False)
    result = complete_content(
        learner=request.learner, content_id=lens.pk, content_type=ContentType.LENS, content_title=lens.title
    )
    prompt_account_after(request, result)
    urls = _urls(lens)
    if not request.htmx:
        return redirect(urls["page_url"])
    context = {"lens": lens, "current_completed": True, **urls}
    return render_page(request, "learn/lens.html", context, partial="completion")


@require_POST
def answer(request: HtmxHttpRequest, lens_id: UUID, question_key: str) -> HttpResponse:
    """Save the learner's answer to a question of the lens; refused (409) once the lens is completed."""
    lens = _lens(request, lens_id, with_body=False)
    urls = _urls(lens)
    with services.completions_held(request.learner):
        locked = services.is_completed(learner=request.learner, item_id=lens.pk)
        return questions.answer(
            request,
            lens.pk,
            question_key,
            locked=locked,
            back_url=urls["page_url"],
            feedback_url=_question_urls(lens)(question_key)[1],
            start_url=reverse("learn:standalone-start", kwargs={"lens_id": lens.pk, "question_key": question_key}),
        )


@require_POST
def start(request: HtmxHttpRequest, lens_id: UUID, question_key: str) -> HttpResponse:
    """Start the countdown of a timed question of the lens; refused (409) once the lens is completed."""
    lens = _lens(request, lens_id, with_body=False)
    answer_url, feedback_url = _question_urls(lens)(question_key)
    return questions.start(
        request,
        lens.pk,
        question_key,
        locked=services.is_completed(learner=request.learner, item_id=lens.pk),
        answer_url=answer_url,
        feedback_url=feedback_url,
        back_url=_urls(lens)["page_url"],
    )


@require_POST
@transaction.non_atomic_requests
def feedback(request: HtmxHttpRequest, lens_id: UUID, question_key: str) -> HttpResponse:
    """The tutor's feedback on the learner's answer (saving it first unless the lens is completed)."""
    lens = _lens(request, lens_id, with_body=False)
    locked = services.is_completed(learner=request.learner, item_id=lens.pk)
    return questions.feedback(request, lens.pk, question_key, locked=locked, back_url=_urls(lens)["page_url"])


@require_safe
def skipped_text(request: HtmxHttpRequest, lens_id: UUID, index: int, part: str) -> HttpResponse:
    """The article text an excerpt skips (`part`: before or after it), loaded when the learner opens it.

    HTMX gets the text alone; without JavaScript it is a page of its own with a link back.
    """
    if part not in SKIPPED_PARTS:
        raise Http404("Skipped text is the text before or after an excerpt.")
    items = ContentItem.objects.active().filter(pk=lens_id, content_type__in=[ContentType.LENS, ContentType.TEST])
    item = items.values("title", "is_draft", "body").first()
    if item is None or (item["is_draft"] and not previews_drafts(request.user)):
        raise Http404(LENS_NOT_FOUND)
    segment = next(
        (
            s
            for s in item["body"].get("segments", [])
            if isinstance(s, dict) and s.get("index") == index and s.get("type") == "article"
        ),
        None,
    )
    if segment is None or not segment.get(f"{part}_html"):
        raise Http404("This lens has no such skipped text.")
    [segment] = resolve_segment_links([segment], course=None, module=None, drafts=previews_drafts(request.user))
    context = {
        "title": item["title"],
        "article": segment["article"],
        "part": part,
        "skipped_html": segment[f"{part}_html"],
        "back_url": safe_next(request, reverse("learn:home")),
    }
    return render_page(request, "learn/skipped.html", context, partial="skipped")
