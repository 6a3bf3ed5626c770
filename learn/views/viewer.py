"""The module viewer's context and what follows a completion, shared by "Mark complete" (pages.py) and
"Submit test" (answers.py): the rules themselves are `learn.navigation`'s, over progress read once."""

from uuid import UUID

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from chat import tutor
from content_loader import access
from content_loader.models import NO_STORED_ID_MESSAGE, ContentItem, ContentType, CourseEntry
from learn import fragments, navigation
from learn.segments import lens_blocks, tutor_turned_off
from learn.views.common import MODULE_DIALOG_KEY, prompt_account_after
from progress.queries import course_progress, module_progress


def module_context(course: ContentItem, entry: CourseEntry, progress, lens_id: UUID, **extra) -> dict:
    """The stage bar, the drawer and the "Completed"/"Next" block of the lens `lens_id` (no query)."""
    module = entry.module
    place = navigation.viewer_place(course.slug, module.slug, progress, lens_id)
    following = place.next_step
    return {
        "course": course,
        "module": module,
        "progress": progress,
        "links": place.links,
        "current": place.current,
        "current_completed": place.completed,
        "next_step_url": navigation.lens_url(course.slug, module.slug, following.item_id) if following else "",
        "next_step_title": following.entry.display_title if following else "",
        "previous_link": place.previous_link,
        "next_link": place.next_link,
        "percent": place.percent,
        "complete_url": reverse(
            "learn:complete-lens",
            kwargs={"course_slug": course.slug, "module_slug": module.slug, "lens_id": lens_id},
        ),
        "page_url": navigation.lens_url(course.slug, module.slug, lens_id),
        "module_label": navigation.module_label(module, entry_title=entry.title),
        **extra,
    }


def dialog_context(request: HttpRequest, course: ContentItem, entry: CourseEntry, progress) -> dict:
    """What the "Module completed" dialog offers; "Course completed" when this finished the course."""
    next_module = entry.next_module()
    course_done = navigation.course_completed_at(course_progress(learner=request.learner, course=course)) is not None
    choices = navigation.dialog_choices(
        course.slug, entry.module.slug, progress.steps, next_module=next_module, course_completed=course_done
    )
    return {"dialog": True, **choices.context()}


def offers_feedback(item: ContentItem, *, locked: bool) -> bool:
    """Whether a question of this lens or test may ask the tutor for feedback: a test's questions only once
    it is submitted (its answers final); a lens's always."""
    return item.content_type != ContentType.TEST or locked


def lens_page_context(
    request: HttpRequest,
    course: ContentItem,
    entry: CourseEntry,
    progress,
    lens_id: UUID,
    *,
    autostart_feedback: bool = False,
    **extra,
) -> dict:
    """The module viewer's context for one lens or test: stage bar, drawer, segments and the end block."""
    context = module_context(course, entry, progress, lens_id, **extra)
    module = entry.module
    lens = context["current"].entry.item  # its body deferred: loaded here without the rest
    body, segments = fragments.lens_segments(
        request, lens_id=lens_id, course=course, module=module, drafts=access.previews_drafts(request.user)
    )
    lens.body = body  # the deferred field, filled: `lens.stores_progress` reads it without a query of its own
    is_test = lens.content_type == ContentType.TEST
    locked = context["current_completed"]
    kwargs = {"course_slug": course.slug, "module_slug": module.slug, "lens_id": lens_id}

    def question_urls(key: str) -> tuple[str, str]:
        urls = {**kwargs, "question_key": key}
        feedback_url = reverse("learn:feedback", kwargs=urls) if offers_feedback(lens, locked=locked) else ""
        return reverse("learn:answer", kwargs=urls), feedback_url

    has_chat = any(segment.get("type") == "chat" for segment in segments)
    context.update(
        blocks=lens_blocks(
            request,
            lens=lens,
            segments=segments,
            page_url=context["page_url"],
            locked=locked,
            question_urls=question_urls,
            autostart_feedback=autostart_feedback,
        ),
        tldr=body.get("tldr", ""),
        tutor_off=tutor_turned_off(segments),
        heartbeat_seconds=settings.PROGRESS_HEARTBEAT_SECONDS,
        inactivity_seconds=(
            settings.PROGRESS_CHAT_INACTIVITY_SECONDS if has_chat else settings.PROGRESS_INACTIVITY_SECONDS
        ),
        is_test=is_test,
        unstored=not lens.stores_progress,
        unstored_message=NO_STORED_ID_MESSAGE,
        draft_preview=course.is_draft or module.is_draft or lens.is_draft,
    )
    if is_test:
        context.update(
            submit_url=reverse("learn:submit-test", kwargs=kwargs),
            test_has_feedback=any(s.get("type") == "question" and s.get("feedback") for s in segments),
            tutor_available=tutor.is_configured(),
            autostart_feedback=autostart_feedback,
        )
        if locked:
            context["continue_url"] = navigation.continue_url(
                course.slug,
                module.slug,
                progress.steps,
                lens_id,
                dialog_due=request.session.get(MODULE_DIALOG_KEY) == str(entry.module_id),
                next_module=entry.next_module,
            )
    return context


def after_completion(request: HttpRequest, entry: CourseEntry, result) -> navigation.AfterCompletion:
    """After completing a lens or submitting a test: the account prompt for an anonymous learner's first
    completion, and the module's progress after it."""
    prompt_account_after(request, result)
    progress = module_progress(learner=request.learner, module=entry.module)  # the steps, for the next one
    return navigation.AfterCompletion(progress, bool(result.module_newly_completed))


def redirect_onwards(
    request: HttpRequest, course: ContentItem, entry: CourseEntry, lens_id: UUID, after: navigation.AfterCompletion
) -> HttpResponse:
    """Without JavaScript: back to this lens, now "Completed" with its "Next" button (with the dialog due
    when the module is done): a completion never moves the learner on by itself."""
    if after.module_done:
        request.session[MODULE_DIALOG_KEY] = str(entry.module_id)
    return redirect(navigation.lens_url(course.slug, entry.module.slug, lens_id))


def onwards(request: HttpRequest, course: ContentItem, entry: CourseEntry, after: navigation.AfterCompletion) -> dict:
    """With HTMX: the "Module completed" dialog when this finished the module (the "Next" button is
    `module_context`'s: the page stays on the completed lens)."""
    return dialog_context(request, course, entry, after.progress) if after.module_done else {}
