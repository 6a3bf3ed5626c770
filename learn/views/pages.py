"""The learner pages: course list, course overview, module viewer, mark complete, My progress.

Pages compose the registry (`content_loader`), the progress engine (`progress`) and, inside lenses, the
tutor chat (`chat`); they never compute a status or a fraction themselves, they show the engine's.
"""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST, require_safe
from django_htmx.middleware import HtmxDetails

from accounts.views import safe_next_url
from chat import tutor
from content_loader import access
from content_loader.models import NO_STORED_ID_MESSAGE, ContentItem, ContentType, CourseEntry, ModuleEntry, SlugAlias
from learn import fragments, navigation
from learn.models import MeetingDate
from learn.segments import lens_blocks, tutor_turned_off
from progress.queries import ModuleProgress, Status, course_progress, courses_progress, module_progress
from progress.services import complete_content

# Session keys. The prompt to create an account is shown from an anonymous learner's first completion
# until dismissed; the module dialog is a one-shot flag for the page a no-JavaScript completion lands on
# (or that "Continue" leads to after a test's feedback); a refused test submission without JavaScript
# leaves its message for the page it returns to.
ACCOUNT_PROMPT_KEY = "learn_account_prompt"
MODULE_DIALOG_KEY = "learn_module_dialog"
TEST_REFUSAL_KEY = "learn_test_refusal"


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


@dataclass(frozen=True)
class LensLink:
    """One step of a module as the stage bar and the drawer show it."""

    step: object  # progress.queries.StepProgress
    number: int
    url: str
    current: bool

    @property
    def title(self) -> str:
        return self.step.entry.display_title

    @property
    def completed(self) -> bool:
        return self.step.completed_at is not None

    @property
    def optional(self) -> bool:
        return self.step.optional


@dataclass(frozen=True)
class CourseCard:
    """A course on the home page with the learner's overall progress over its required modules."""

    course: ContentItem
    modules_completed: int
    modules_total: int
    lenses_completed: int
    lenses_total: int
    action: str  # "Start", "Continue" or "Review"
    continue_url: str
    completed_at: datetime | None

    @property
    def percent(self) -> int:
        return round(100 * self.lenses_completed / self.lenses_total) if self.lenses_total else 0


# Lookups ---------------------------------------------------------------------------------------------


def previews_drafts(request: HttpRequest) -> bool:
    """Whether this reader sees drafts (with a "Draft" banner) at their learner URLs: staff with the
    `content_loader.preview_drafts` permission, which superusers have. Learners get a 404 for a draft."""
    return access.previews_drafts(request.user)


def _course_or_alias(slug: str, *, drafts: bool = False) -> ContentItem | str:
    """The active course with this slug, or the canonical slug it was renamed to (raise Http404).

    Drafts count only when `drafts` (the reader previews them)."""
    courses = fragments.with_content_version(ContentItem.objects.courses(drafts=drafts))
    course = courses.filter(slug=slug).first()
    if course is not None:
        return course
    alias = SlugAlias.objects.filter(content_type=ContentType.COURSE, slug=slug, item__retired_at__isnull=True)
    if not drafts:
        alias = alias.filter(item__is_draft=False)
    canonical = alias.values_list("item__slug", flat=True).first()
    if canonical is None:
        raise Http404("There is no course at this address.")
    return canonical


def _placement_or_alias(course: ContentItem, module_slug: str, *, drafts: bool = False) -> CourseEntry | str:
    """The course's entry for this module (module and parent loaded), or the module's canonical slug."""
    published = {} if drafts else {"module__is_draft": False}
    entry = (
        CourseEntry.objects.filter(
            course=course,
            kind=CourseEntry.Kind.MODULE,
            module__slug=module_slug,
            module__retired_at__isnull=True,
            **published,
        )
        .select_related("module", "module__parent")
        .first()
    )
    if entry is not None:
        return entry
    alias = SlugAlias.objects.filter(
        content_type=ContentType.MODULE,
        slug=module_slug,
        item__retired_at__isnull=True,
        item__course_placements__course=course,
        **({} if drafts else {"item__is_draft": False}),
    )
    canonical = alias.values_list("item__slug", flat=True).first()
    if canonical is None:
        raise Http404("This course has no module at this address.")
    return canonical


def lens_placement(
    course_slug: str, module_slug: str, lens_id: UUID, *, drafts: bool = False
) -> tuple[ContentItem, CourseEntry, ModuleEntry]:
    """The course, the module's course entry and the lens's (or test's) module entry, item loaded; else 404.

    For the views that act on a lens (complete, answer, submit); slug aliases are not followed for a POST.
    Drafts are found only with `drafts` (`previews_drafts(request)`).
    """
    course = _course_or_alias(course_slug, drafts=drafts)
    if isinstance(course, str):
        raise Http404("There is no course at this address.")
    entry = _placement_or_alias(course, module_slug, drafts=drafts)
    if isinstance(entry, str):
        raise Http404("This course has no module at this address.")
    placement = entry.module.module_entries.filter(item_id=lens_id).select_related("item").first()
    if placement is None or (placement.item.is_draft and not drafts):
        raise Http404("This module has no such lens.")
    return course, entry, placement


def _lens_url(course: ContentItem, module: ContentItem, lens_id: UUID) -> str:
    return fragments.lens_url(course.slug, module.slug, lens_id)


def _lens_links(course: ContentItem, module: ContentItem, steps: list, current_id: UUID | None) -> list[LensLink]:
    """The visible (not hidden) steps of a module, numbered, with their URLs."""
    visible = [step for step in steps if not step.hide]
    return [
        LensLink(
            step=step,
            number=number,
            url=_lens_url(course, module, step.entry.item_id),
            current=step.entry.item_id == current_id,
        )
        for number, step in enumerate(visible, start=1)
    ]


def _next_module(course: ContentItem, entry: CourseEntry) -> ContentItem | None:
    """The module after this one in the course's order."""
    following = (
        CourseEntry.objects.filter(
            course=course,
            kind=CourseEntry.Kind.MODULE,
            position__gt=entry.position,
            module__retired_at__isnull=True,
        )
        .select_related("module")
        .order_by("position")
        .first()
    )
    return following.module if following else None


def _account_prompt_visible(request: HttpRequest) -> bool:
    return not request.user.is_authenticated and request.session.get(ACCOUNT_PROMPT_KEY) == "show"


def _render(request: HtmxHttpRequest, template: str, context: dict, *, partial: str | None = None) -> HttpResponse:
    """Render the page, or only its `partial` for an HTMX request; responses vary on HX-Request."""
    fragment = partial and request.htmx and not request.htmx.history_restore_request
    name = f"{template}#{partial}" if fragment else template
    context.setdefault("show_account_prompt", _account_prompt_visible(request))
    response = render(request, name, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


# Pages -----------------------------------------------------------------------------------------------


@require_safe
def home(request: HtmxHttpRequest) -> HttpResponse:
    """The published courses, each with the learner's overall progress and where "Continue" resumes."""
    cards = []
    for progress in courses_progress(learner=request.learner, courses=_listed_courses(request)):
        required = [summary for unit in progress.units for summary in unit.modules if not summary.optional]
        cards.append(
            CourseCard(
                course=progress.course,
                modules_completed=sum(summary.status == Status.COMPLETED for summary in required),
                modules_total=len(required),
                lenses_completed=sum(summary.completed for summary in required),
                lenses_total=sum(summary.total for summary in required),
                action=navigation.course_action(progress),
                continue_url=navigation.course_continue_url(progress),
                completed_at=navigation.course_completed_at(progress),
            )
        )
    return _render(request, "learn/home.html", {"cards": cards})


def _listed_courses(request: HttpRequest) -> list[ContentItem]:
    """The courses the home page and My progress list: published ones, and drafts for who previews them."""
    return list(ContentItem.objects.courses(drafts=previews_drafts(request)))


@require_safe
def course_overview(request: HtmxHttpRequest, course_slug: str) -> HttpResponse:
    """The course's units (modules, then the meeting that ends them) with each module's status and fraction,
    the meetings' dates when a run is current, and where "Continue" resumes."""
    course = _course_or_alias(course_slug, drafts=previews_drafts(request))
    if isinstance(course, str):
        return redirect("learn:course", course_slug=course, permanent=True)
    progress = fragments.course_progress(request, course)
    meetings = MeetingDate.objects.for_course_overview(course_id=course.pk, today=timezone.localdate())
    resume = navigation.course_resume(progress)
    return _render(
        request,
        "learn/course.html",
        {
            "course": course,
            "units": navigation.unit_views(progress.units, {n: m.date for n, m in meetings.items()}),
            "run": next(iter(meetings.values())).run if meetings else None,
            "action": navigation.course_action(progress),
            "continue_url": navigation.course_continue_url(progress) if resume else "",
            "continue_title": resume and _step_title(resume),
            "completed_at": navigation.course_completed_at(progress),
            "draft_preview": course.is_draft,
        },
    )


def _step_title(found: navigation.CourseStep) -> str:
    """The module's name ("Parent: Sub") on the course's Start/Continue/Review button."""
    return navigation.module_label(found.summary.module, entry_title=found.summary.entry.title)


@require_safe
def course_completion(request: HtmxHttpRequest, course_slug: str) -> HttpResponse:
    """A printable record that the learner completed the course: name, course, date and active time."""
    course = _course_or_alias(course_slug, drafts=previews_drafts(request))
    if isinstance(course, str):
        return redirect("learn:course-completion", course_slug=course, permanent=True)
    progress = course_progress(learner=request.learner, course=course)
    completed_at = navigation.course_completed_at(progress)
    if completed_at is None:
        raise Http404(
            "You have not completed this course yet: its completion page appears once every required module is done."
        )
    user = request.user
    return _render(
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
def module_start(request: HtmxHttpRequest, course_slug: str, module_slug: str) -> HttpResponse:
    """Open a module where the learner left off (its first incomplete required lens)."""
    drafts = previews_drafts(request)
    course = _course_or_alias(course_slug, drafts=drafts)
    if isinstance(course, str):
        return redirect("learn:module", course_slug=course, module_slug=module_slug, permanent=True)
    entry = _placement_or_alias(course, module_slug, drafts=drafts)
    if isinstance(entry, str):
        return redirect("learn:module", course_slug=course.slug, module_slug=entry, permanent=True)
    progress = module_progress(learner=request.learner, module=entry.module)
    step = navigation.resume_step(progress.steps)
    if step is None:
        raise Http404("This module has no lenses yet.")
    return redirect(_lens_url(course, entry.module, step.entry.item_id))


def _module_context(course: ContentItem, entry: CourseEntry, progress, lens_id: UUID, **extra) -> dict:
    module = entry.module
    links = _lens_links(course, module, progress.steps, lens_id)
    index = next((i for i, link in enumerate(links) if link.current), None)
    current_step = next((step for step in progress.steps if step.entry.item_id == lens_id), None)
    completed = current_step is not None and current_step.completed_at is not None
    following = navigation.next_step(progress.steps, lens_id) if completed else None
    return {
        "course": course,
        "module": module,
        "progress": progress,
        "links": links,
        "current": current_step,
        "current_completed": completed,
        "next_step_url": _lens_url(course, module, following.entry.item_id) if following else "",
        "next_step_title": following.entry.display_title if following else "",
        "previous_link": links[index - 1] if index else None,
        "next_link": links[index + 1] if index is not None and index + 1 < len(links) else None,
        "percent": round(100 * progress.completed / progress.total) if progress.total else 0,
        "complete_url": reverse(
            "learn:complete-lens",
            kwargs={"course_slug": course.slug, "module_slug": module.slug, "lens_id": lens_id},
        ),
        "page_url": _lens_url(course, module, lens_id),
        "module_label": navigation.module_label(module, entry_title=entry.title),
        **extra,
    }


def _dialog_context(request: HttpRequest, course: ContentItem, entry: CourseEntry, progress) -> dict:
    """What the "Module completed" dialog offers; "Course completed" when this finished the course."""
    links = _lens_links(course, entry.module, progress.steps, None)
    remaining_optional = [link for link in links if link.optional and not link.completed]
    next_module = _next_module(course, entry)
    course_done = navigation.course_completed_at(course_progress(learner=request.learner, course=course))
    return {
        "optional_remaining": len(remaining_optional),
        "optional_url": remaining_optional[0].url if remaining_optional else "",
        "next_module_url": (
            reverse("learn:module", kwargs={"course_slug": course.slug, "module_slug": next_module.slug})
            if next_module and not course_done
            else ""
        ),
        "next_module": next_module,
        "course_completed": course_done is not None,
    }


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
    context = _module_context(course, entry, progress, lens_id, **extra)
    lens = context["current"].entry.item  # its body deferred: loaded here without the rest
    body, segments = fragments.lens_segments(
        request, lens_id=lens_id, course=course, module=entry.module, drafts=previews_drafts(request)
    )
    lens.body = body  # the deferred field, filled: `lens.stores_progress` reads it without a query of its own
    is_test = lens.content_type == ContentType.TEST
    locked = context["current_completed"]
    kwargs = {"course_slug": course.slug, "module_slug": entry.module.slug, "lens_id": lens_id}

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
        draft_preview=course.is_draft or entry.module.is_draft or lens.is_draft,
    )
    if is_test:
        context.update(
            submit_url=reverse("learn:submit-test", kwargs=kwargs),
            test_has_feedback=any(s.get("type") == "question" and s.get("feedback") for s in segments),
            tutor_available=tutor.is_configured(),
            autostart_feedback=autostart_feedback,
        )
        if locked:
            context["continue_url"] = _continue_url(request, course, entry, progress, lens_id)
    return context


def offers_feedback(item: ContentItem, *, locked: bool) -> bool:
    """Whether a question of this lens or test may ask the tutor for feedback: a test's questions only once
    it is submitted (its answers final); a lens's always."""
    return item.content_type != ContentType.TEST or locked


def _continue_url(request: HttpRequest, course: ContentItem, entry: CourseEntry, progress, lens_id: UUID) -> str:
    """Where "Continue" leads from a submitted test: the next step to do; else the "Module completed"
    dialog when it is due (it opens on the test's own page), else the next module or the course."""
    step = navigation.next_step(progress.steps, lens_id)
    if step is not None:
        return _lens_url(course, entry.module, step.entry.item_id)
    if request.session.get(MODULE_DIALOG_KEY) == str(entry.module_id):
        return _lens_url(course, entry.module, lens_id)
    next_module = _next_module(course, entry)
    if next_module is not None:
        return reverse("learn:module", kwargs={"course_slug": course.slug, "module_slug": next_module.slug})
    return reverse("learn:course", args=[course.slug])


@require_safe
def module_viewer(request: HtmxHttpRequest, course_slug: str, module_slug: str, lens_id: UUID) -> HttpResponse:
    """One lens (or test) of a module, with the stage bar, the drawer and "Mark complete" ("Submit test")."""
    drafts = previews_drafts(request)
    course = _course_or_alias(course_slug, drafts=drafts)
    if isinstance(course, str):
        return redirect("learn:lens", course_slug=course, module_slug=module_slug, lens_id=lens_id, permanent=True)
    entry = _placement_or_alias(course, module_slug, drafts=drafts)
    if isinstance(entry, str):
        return redirect("learn:lens", course_slug=course.slug, module_slug=entry, lens_id=lens_id, permanent=True)
    progress = fragments.module_progress(request, course, entry.module)
    step = next((step for step in progress.steps if step.entry.item_id == lens_id), None)
    if step is None or (step.entry.item.is_draft and not drafts):
        raise Http404("This module has no such lens.")

    extra = {}
    if request.session.get(MODULE_DIALOG_KEY) == str(entry.module_id):
        del request.session[MODULE_DIALOG_KEY]
        extra = {"dialog": True, **_dialog_context(request, course, entry, progress)}
    refusal = request.session.get(TEST_REFUSAL_KEY)
    if refusal and refusal.get("item") == str(lens_id):
        del request.session[TEST_REFUSAL_KEY]
        extra["submit_refusal"] = refusal.get("message", "")
    context = lens_page_context(request, course, entry, progress, lens_id, **extra)
    return _render(request, "learn/module.html", context, partial="viewer")


@require_POST
def complete_lens(request: HtmxHttpRequest, course_slug: str, module_slug: str, lens_id: UUID) -> HttpResponse:
    """Mark a lens complete; HTMX gets the button and out-of-band updates, others a redirect."""
    course, entry, placement = lens_placement(course_slug, module_slug, lens_id, drafts=previews_drafts(request))
    if placement.item.content_type == ContentType.TEST:
        raise PermissionDenied("A test is completed by submitting it, once every question has an answer.")

    result = complete_content(
        learner=request.learner,
        content_id=lens_id,
        content_type=placement.item.content_type,
        content_title=placement.display_title,
        module_slug=entry.module.slug,
    )
    after = after_completion(request, entry, lens_id, result)
    if not request.htmx:
        return redirect_onwards(request, course, entry, lens_id, after)
    context = _module_context(course, entry, after.progress, lens_id, **onwards(request, course, entry, after))
    return _render(request, "learn/module.html", context, partial="completion")


@dataclass(frozen=True)
class AfterCompletion:
    """A completion's module progress, and whether it finished the module."""

    progress: ModuleProgress
    module_done: bool  # this completion finished the module: the "Module completed" dialog opens


def after_completion(request: HttpRequest, entry: CourseEntry, lens_id: UUID, result) -> AfterCompletion:
    """After completing a lens or submitting a test: the account prompt for an anonymous learner's first
    completion, and the module's progress after it."""
    if result.newly_completed and not request.user.is_authenticated:
        request.session.setdefault(ACCOUNT_PROMPT_KEY, "show")
    progress = module_progress(learner=request.learner, module=entry.module)  # the steps, for the next one
    return AfterCompletion(progress, bool(result.module_newly_completed))


def redirect_onwards(
    request: HttpRequest, course: ContentItem, entry: CourseEntry, lens_id: UUID, after: AfterCompletion
) -> HttpResponse:
    """Without JavaScript: back to this lens, now "Completed" with its "Next" button (with the dialog due
    when the module is done): a completion never moves the learner on by itself."""
    if after.module_done:
        request.session[MODULE_DIALOG_KEY] = str(entry.module_id)
    return redirect(_lens_url(course, entry.module, lens_id))


def onwards(request: HttpRequest, course: ContentItem, entry: CourseEntry, after: AfterCompletion) -> dict:
    """With HTMX: the "Module completed" dialog when this finished the module (the "Next" button is
    `_module_context`'s: the page stays on the completed lens)."""
    if after.module_done:
        return {"dialog": True, **_dialog_context(request, course, entry, after.progress)}
    return {}


@require_POST
def dismiss_account_prompt(request: HtmxHttpRequest) -> HttpResponse:
    """Hide the "Create an account" prompt for the rest of this browser session."""
    if not request.user.is_authenticated:
        request.session[ACCOUNT_PROMPT_KEY] = "dismissed"
    if request.htmx:
        return _render(request, "learn/_account_prompt.html", {"show_account_prompt": False})
    return redirect(safe_next_url(request, reverse("learn:home")))


@require_safe
def my_progress(request: HtmxHttpRequest) -> HttpResponse:
    """Per course and module: completion and active time (the sum of the lenses' time)."""
    rows = []
    for progress in courses_progress(learner=request.learner, courses=_listed_courses(request)):
        course = progress.course
        summaries = [summary for unit in progress.units for summary in unit.modules]
        total_time = sum(summary.time_spent_s for summary in summaries)
        if total_time or any(summary.completed or summary.status != Status.NOT_STARTED for summary in summaries):
            rows.append({"course": course, "modules": summaries, "time_spent_s": total_time})
    return _render(
        request,
        "learn/my_progress.html",
        {
            "rows": rows,
            "inactivity_minutes": settings.PROGRESS_INACTIVITY_SECONDS // 60,
            "chat_inactivity_minutes": settings.PROGRESS_CHAT_INACTIVITY_SECONDS // 60,
        },
    )
