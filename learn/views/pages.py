"""The learner pages: course list, course overview, module viewer, mark complete, My progress.

Pages compose the registry (`content_loader`), the progress engine (`progress`) and, inside lenses, the
tutor chat (`chat`); they never compute a status or a fraction themselves, they show the engine's. Each
view parses its address, reads through a QuerySet method or `progress.queries`, asks `learn.navigation`
where things lead, and renders.
"""

from uuid import UUID

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from content_loader import access
from content_loader.models import ContentItem, ContentType
from learn import fragments, navigation
from learn.views.common import (
    ACCOUNT_PROMPT_KEY,
    MODULE_DIALOG_KEY,
    NO_LENS,
    TEST_REFUSAL_KEY,
    find_course,
    find_module,
    follows_slug_aliases,
    lens_placement,
    render_page,
)
from learn.views.viewer import (
    after_completion,
    dialog_context,
    lens_page_context,
    module_context,
    onwards,
    redirect_onwards,
)
from ops.http import HtmxHttpRequest, safe_next
from progress.queries import course_progress, courses_progress, module_progress
from progress.services import complete_content


def _listed_courses(request: HtmxHttpRequest) -> list[ContentItem]:
    """The courses the home page and My progress list: published ones, and drafts for who previews them."""
    return list(ContentItem.objects.courses(drafts=access.previews_drafts(request.user)))


@require_safe
def home(request: HtmxHttpRequest) -> HttpResponse:
    """The published courses, each with the learner's overall progress and where "Continue" resumes."""
    progresses = courses_progress(learner=request.learner, courses=_listed_courses(request))
    return render_page(request, "learn/home.html", {"cards": [navigation.course_card(p) for p in progresses]})


@require_safe
@follows_slug_aliases
def course_overview(request: HtmxHttpRequest, course_slug: str) -> HttpResponse:
    """The course's units (modules, then the meeting that ends them) with each module's status and fraction,
    the meetings' dates when a run is current, and where "Continue" resumes."""
    course = find_course(course_slug, drafts=access.previews_drafts(request.user))
    progress = fragments.course_progress(request, course)
    meetings = fragments.meeting_dates(course, timezone.localdate())
    button = navigation.course_button(progress)
    return render_page(
        request,
        "learn/course.html",
        {
            "course": course,
            "units": navigation.unit_views(progress.units, {n: m.date for n, m in meetings.items()}),
            "run": next(iter(meetings.values())).run if meetings else None,
            "action": button.action,
            "continue_url": button.url if button.resumes else "",
            "continue_title": button.title,
            "completed_at": button.completed_at,
            "draft_preview": course.is_draft,
        },
    )


@require_safe
@follows_slug_aliases
def course_completion(request: HtmxHttpRequest, course_slug: str) -> HttpResponse:
    """A printable record that the learner completed the course: name, course, date and active time."""
    course = find_course(course_slug, drafts=access.previews_drafts(request.user))
    progress = course_progress(learner=request.learner, course=course)
    completed_at = navigation.course_completed_at(progress)
    if completed_at is None:
        raise Http404(
            "You have not completed this course yet: its completion page appears once every required module is done."
        )
    user = request.user
    return render_page(
        request,
        "learn/completion.html",
        {
            "course": course,
            "completed_at": completed_at,
            "learner_name": (user.get_full_name() or user.get_username()) if user.is_authenticated else "",
            "time_spent_s": sum(summary.time_spent_s for unit in progress.units for summary in unit.modules),
        },
    )


@require_safe
@follows_slug_aliases
def module_start(request: HtmxHttpRequest, course_slug: str, module_slug: str) -> HttpResponse:
    """Open a module where the learner left off (its first incomplete required lens)."""
    drafts = access.previews_drafts(request.user)
    course = find_course(course_slug, drafts=drafts)
    entry = find_module(course, module_slug, drafts=drafts)
    progress = module_progress(learner=request.learner, module=entry.module)
    step = navigation.resume_step(progress.steps)
    if step is None:
        raise Http404("This module has no lenses yet.")
    return redirect(navigation.lens_url(course.slug, entry.module.slug, step.item_id))


@require_safe
@follows_slug_aliases
def module_viewer(request: HtmxHttpRequest, course_slug: str, module_slug: str, lens_id: UUID) -> HttpResponse:
    """One lens (or test) of a module, with the stage bar, the drawer and "Mark complete" ("Submit test")."""
    drafts = access.previews_drafts(request.user)
    course = find_course(course_slug, drafts=drafts)
    entry = find_module(course, module_slug, drafts=drafts)
    progress = fragments.module_progress(request, course, entry.module)
    step = next((step for step in progress.steps if step.item_id == lens_id), None)
    if step is None or (step.entry.item.is_draft and not drafts):
        raise Http404(NO_LENS)

    extra = {}
    if request.session.get(MODULE_DIALOG_KEY) == str(entry.module_id):
        del request.session[MODULE_DIALOG_KEY]
        extra = dialog_context(request, course, entry, progress)
    refusal = request.session.get(TEST_REFUSAL_KEY)
    if refusal and refusal.get("item") == str(lens_id):
        del request.session[TEST_REFUSAL_KEY]
        extra["submit_refusal"] = refusal.get("message", "")
    context = lens_page_context(request, course, entry, progress, lens_id, **extra)
    return render_page(request, "learn/module.html", context, partial="viewer")


@require_POST
def complete_lens(request: HtmxHttpRequest, course_slug: str, module_slug: str, lens_id: UUID) -> HttpResponse:
    """Mark a lens complete; HTMX gets the button and out-of-band updates, others a redirect."""
    drafts = access.previews_drafts(request.user)
    course, entry, placement = lens_placement(course_slug, module_slug, lens_id, drafts=drafts)
    if placement.item.content_type == ContentType.TEST:
        raise PermissionDenied("A test is completed by submitting it, once every question has an answer.")

    result = complete_content(
        learner=request.learner,
        content_id=lens_id,
        content_type=placement.item.content_type,
        content_title=placement.display_title,
        module_slug=entry.module.slug,
    )
    after = after_completion(request, entry, result)
    if not request.htmx:
        return redirect_onwards(request, course, entry, lens_id, after)
    context = module_context(course, entry, after.progress, lens_id, **onwards(request, course, entry, after))
    return render_page(request, "learn/module.html", context, partial="completion")


@require_POST
def dismiss_account_prompt(request: HtmxHttpRequest) -> HttpResponse:
    """Hide the "Create an account" prompt for the rest of this browser session."""
    if not request.user.is_authenticated:
        request.session[ACCOUNT_PROMPT_KEY] = "dismissed"
    if request.htmx:
        return render_page(request, "learn/_account_prompt.html", {"show_account_prompt": False})
    return redirect(safe_next(request, reverse("learn:home")))


@require_safe
def my_progress(request: HtmxHttpRequest) -> HttpResponse:
    """Per course and module: completion and active time (the sum of the lenses' time)."""
    progresses = courses_progress(learner=request.learner, courses=_listed_courses(request))
    return render_page(
        request,
        "learn/my_progress.html",
        {
            "rows": navigation.progress_rows(progresses),
            "inactivity_minutes": settings.PROGRESS_INACTIVITY_SECONDS // 60,
            "chat_inactivity_minutes": settings.PROGRESS_CHAT_INACTIVITY_SECONDS // 60,
        },
    )
