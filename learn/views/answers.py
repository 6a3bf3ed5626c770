"""Answers to questions in the module viewer, and submitting a test.

The chat app's services save answers and ask the tutor for feedback, but chat cannot know whether a lens
or test is completed (it never imports progress). These views decide `locked` from progress and answer
through learn/views/questions.py: an answer stops changing once its lens or test is completed. A test's
questions get feedback once it is submitted.
"""

from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, retarget

from chat.questions import questions_of
from content_loader.access import previews_drafts
from content_loader.models import NO_STORED_ID_MESSAGE, ContentType
from learn import services
from learn.navigation import lens_url
from learn.views import questions
from learn.views.common import MODULE_DIALOG_KEY, TEST_REFUSAL_KEY, lens_placement, render_page
from learn.views.viewer import (
    after_completion,
    lens_page_context,
    module_context,
    offers_feedback,
    onwards,
    redirect_onwards,
)
from ops.http import HtmxHttpRequest
from progress.queries import module_progress


@require_POST
def answer(
    request: HtmxHttpRequest, course_slug: str, module_slug: str, lens_id: UUID, question_key: str
) -> HttpResponse:
    """Save the learner's answer to a question of the lens or test; refused (409) once it is completed."""
    course, entry, placement = lens_placement(course_slug, module_slug, lens_id, drafts=previews_drafts(request.user))
    item = placement.item
    urls = {"course_slug": course.slug, "module_slug": entry.module.slug, "lens_id": lens_id}
    # Checked and saved with the learner's completions held off: a "Mark complete" in another tab either
    # committed before (the answer is refused) or waits until the answer is saved.
    with services.completions_held(request.learner):
        locked = services.is_completed(learner=request.learner, item_id=item.pk)
        return questions.answer(
            request,
            item.pk,
            question_key,
            locked=locked,
            back_url=lens_url(course.slug, entry.module.slug, lens_id),
            feedback_url=(
                reverse("learn:feedback", kwargs={**urls, "question_key": question_key})
                if offers_feedback(item, locked=locked)
                else ""
            ),
            start_url=reverse("learn:start", kwargs={**urls, "question_key": question_key}),
        )


@require_POST
def start(
    request: HtmxHttpRequest, course_slug: str, module_slug: str, lens_id: UUID, question_key: str
) -> HttpResponse:
    """Start the countdown of a timed question of the lens or test; refused (409) once it is completed."""
    course, entry, placement = lens_placement(course_slug, module_slug, lens_id, drafts=previews_drafts(request.user))
    item = placement.item
    urls = {
        "course_slug": course.slug,
        "module_slug": entry.module.slug,
        "lens_id": lens_id,
        "question_key": question_key,
    }
    locked = services.is_completed(learner=request.learner, item_id=item.pk)
    return questions.start(
        request,
        item.pk,
        question_key,
        locked=locked,
        answer_url=reverse("learn:answer", kwargs=urls),
        feedback_url=reverse("learn:feedback", kwargs=urls) if offers_feedback(item, locked=locked) else "",
        back_url=lens_url(course.slug, entry.module.slug, lens_id),
    )


@require_POST
@transaction.non_atomic_requests
def feedback(
    request: HtmxHttpRequest, course_slug: str, module_slug: str, lens_id: UUID, question_key: str
) -> HttpResponse:
    """The tutor's feedback on the learner's answer (saving it first unless the lens or test is completed).

    A test's answers get feedback only once the test is submitted.
    """
    course, entry, placement = lens_placement(course_slug, module_slug, lens_id, drafts=previews_drafts(request.user))
    item = placement.item
    locked = services.is_completed(learner=request.learner, item_id=item.pk)
    if not offers_feedback(item, locked=locked):
        raise PermissionDenied("The tutor gives feedback on a test's answers once the test is submitted.")
    return questions.feedback(
        request, item.pk, question_key, locked=locked, back_url=lens_url(course.slug, entry.module.slug, lens_id)
    )


@require_POST
def submit_test(request: HtmxHttpRequest, course_slug: str, module_slug: str, lens_id: UUID) -> HttpResponse:
    """Submit a test: saved when every question has an answer; then its answers are final.

    The page's script sends answers typed but not saved yet (`answer-<question key>` fields) along, and
    they are saved first. Refused, naming the unanswered questions, while one is missing. When some
    questions ask for the tutor's feedback, HTMX gets the test back read-only with that feedback
    streaming in and a "Continue" link; otherwise the test moves on like "Mark complete" does. Without
    JavaScript the post redirects: to the test's page when there is feedback to ask for, else onwards.
    """
    course, entry, placement = lens_placement(course_slug, module_slug, lens_id, drafts=previews_drafts(request.user))
    test = placement.item
    if test.content_type != ContentType.TEST:
        raise Http404("Only a test is submitted; a lens is marked complete.")
    if request.learner is None:
        raise PermissionDenied("We could not tell who you are. Reload the page (cookies must be allowed) or log in.")
    module = entry.module
    answers = {
        name.removeprefix("answer-"): value for name, value in request.POST.items() if name.startswith("answer-")
    }
    try:
        if not test.stores_progress:  # a `## Test:` without `id::`: nothing is stored under its derived UUID
            raise services.TestNotReady(NO_STORED_ID_MESSAGE)
        result = services.submit_test(
            learner=request.learner,
            test=test,
            title=placement.display_title,
            module_slug=module.slug,
            answers=answers,
        )
    except services.TestNotReady as refusal:
        if not request.htmx:
            request.session[TEST_REFUSAL_KEY] = {"item": str(lens_id), "message": refusal.message}
            return redirect(lens_url(course.slug, module.slug, lens_id) + "#complete")
        # Only the "Submit test" block is sent back, with the refusal: not the lens's segments.
        progress = module_progress(learner=request.learner, module=module)
        submit_url = reverse(
            "learn:submit-test", kwargs={"course_slug": course.slug, "module_slug": module.slug, "lens_id": lens_id}
        )
        context = module_context(
            course, entry, progress, lens_id, is_test=True, submit_url=submit_url, submit_refusal=refusal.message
        )
        response = render_page(request, "learn/module.html", context, partial="complete-button")
        return reswap(retarget(response, "#complete"), "outerHTML")

    after = after_completion(request, entry, result)
    if any(question.get("feedback") for question in questions_of(test)):
        if request.htmx:
            if after.module_done:  # "Continue", after the feedback, opens the "Module completed" dialog
                request.session[MODULE_DIALOG_KEY] = str(module.pk)
            context = lens_page_context(request, course, entry, after.progress, lens_id, autostart_feedback=True)
            return render_page(request, "learn/module.html", context, partial="submitted")
        return redirect(lens_url(course.slug, module.slug, lens_id) + "#complete")

    if not request.htmx:
        return redirect_onwards(request, course, entry, lens_id, after)
    context = lens_page_context(
        request, course, entry, after.progress, lens_id, **onwards(request, course, entry, after)
    )
    return render_page(request, "learn/module.html", context, partial="submitted")
