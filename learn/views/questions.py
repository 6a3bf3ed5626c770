"""Answering a question of a lens or test: saving the answer or its draft, a timed question's "Start", and
the tutor's feedback, on the learner pages' own URLs.

Whether an answer may still change is decided here, by the views of the module viewer
(learn/views/answers.py) and of the standalone lens page (learn/views/lenses.py): `locked` once the lens
or test is completed. These functions do the rest the same way for both pages, calling chat's services
(which save answers and ask the tutor, and know nothing of progress).
"""

from collections.abc import Iterator
from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse

from chat import replies, services, tutor
from chat.models import FeedbackRequest, QuestionAnswer, ReplyState
from chat.panels import build_question_box, question_dom_id, question_segment, require_learner
from chat.views import refusal
from content_loader.models import ContentItem
from ops.http import HtmxHttpRequest, ndjson, safe_next, wants_stream

WRITE_FIRST = "Write an answer first; the tutor gives feedback on it."
LOCKED_MESSAGE = "This answer can no longer be changed: the lens or test is completed."


def answer(
    request: HtmxHttpRequest,
    item_id: UUID,
    question_key: str,
    *,
    locked: bool,
    back_url: str,
    feedback_url: str,
    start_url: str = "",
) -> HttpResponse:
    """Save the learner's answer to a question, unless `locked`: then 409.

    With `draft=1` (chat.js, as the learner types and on leaving the page) the text is saved as the
    question's draft instead: 204. `back_url` is where a plain form returns without a `next`;
    `feedback_url` "" shows no "Get feedback".
    """
    item, question = question_segment(request, item_id, question_key, back_url=back_url)
    learner = require_learner(request)
    dom_id = question_dom_id(item.pk, question_key)
    back_url = safe_next(request, back_url)
    is_draft = bool(request.POST.get("draft"))
    save = services.save_draft if is_draft else services.save_answer
    try:
        save(
            learner=learner,
            content_id=item.pk,
            content_type=item.content_type,
            question=question,
            text=request.POST.get("text", ""),
            locked=locked,
        )
    except services.ChatError as error:
        return refusal(request, message=error.message, status=error.status, dom_id=dom_id, back_url=back_url)
    if is_draft:
        return HttpResponse(status=204)
    urls = {"answer_url": request.path, "feedback_url": feedback_url, "start_url": start_url}
    return box_or_back(
        request, item=item, question=question, locked=locked, urls=urls, back_url=back_url, just_saved=True
    )


def start(
    request: HtmxHttpRequest,
    item_id: UUID,
    question_key: str,
    *,
    locked: bool,
    answer_url: str,
    feedback_url: str,
    back_url: str,
) -> HttpResponse:
    """Start the countdown of a timed question (the "Start" button); the box comes back open, counting down.

    Refused (409) once `locked`.
    """
    item, question = question_segment(request, item_id, question_key, back_url=back_url)
    learner = require_learner(request)
    dom_id = question_dom_id(item.pk, question_key)
    back_url = safe_next(request, back_url)
    if locked:
        return refusal(request, message=LOCKED_MESSAGE, status=409, dom_id=dom_id, back_url=back_url)
    if not question.get("max_time_seconds"):
        raise Http404("This question is not timed.")
    services.start_answer(learner=learner, content_id=item.pk, question=question)
    urls = {"answer_url": answer_url, "feedback_url": feedback_url, "start_url": request.path}
    return box_or_back(request, item=item, question=question, locked=locked, urls=urls, back_url=back_url)


def box_or_back(
    request: HtmxHttpRequest,
    *,
    item: ContentItem,
    question: dict,
    locked: bool,
    urls: dict[str, str],
    back_url: str,
    **context,
) -> HttpResponse:
    """After a write: htmx gets the question's answer box again (with `urls`), a plain form goes back."""
    if not request.htmx:
        return HttpResponseRedirect(back_url, status=303)
    box = build_question_box(request, item=item, segment=question, locked=locked, **urls)
    return render(request, "chat/question.html#box", {"box": box, **context})


def feedback(request: HttpRequest, item_id: UUID, question_key: str, *, locked: bool, back_url: str) -> HttpResponse:
    """Save the answer (unless `locked`), then the tutor's feedback on it: streamed to chat.js, else waited for.

    The calling view is `transaction.non_atomic_requests`: no transaction may stay open while the tutor
    answers. A locked answer gets feedback as saved.
    """
    item, question = question_segment(request, item_id, question_key, back_url=back_url)
    learner = require_learner(request)
    dom_id = question_dom_id(item.pk, question_key)
    back_url = safe_next(request, back_url)

    def refuse(message: str, status: int, retry_after: int | None = None) -> HttpResponse:
        return refusal(
            request, message=message, status=status, dom_id=dom_id, back_url=back_url, retry_after=retry_after
        )

    if not question.get("feedback"):
        return refuse("This question has no tutor feedback.", 404)
    if not tutor.is_configured():
        return refuse(tutor.NOT_CONFIGURED_MESSAGE, 503)
    if "text" in request.POST and not locked and not request.POST["text"].strip():
        return refuse(WRITE_FIRST, 400)  # refused before anything is saved
    try:
        if "text" in request.POST and not locked:
            saved = services.save_answer(
                learner=learner,
                content_id=item.pk,
                content_type=item.content_type,
                question=question,
                text=request.POST["text"],
                locked=False,
            )
        else:
            saved = (
                QuestionAnswer.objects.current()
                .owned_by(learner)
                .for_question(content_id=item.pk, question_key=question_key)
                .first()
            )
    except services.ChatError as error:
        return refuse(error.message, error.status, getattr(error, "retry_after", None))
    if saved is None or not saved.text.strip():
        return refuse(WRITE_FIRST, 400)
    try:
        services.count_tutor_call(learner=learner)
    except services.RateLimited as error:
        return refuse(f"Your answer is saved. {error.message}", error.status, error.retry_after)
    try:
        generating = tutor.ask_for_feedback(answer=saved, question=question)
    except tutor.TutorError as error:
        return refuse(error.message, error.status)

    if not wants_stream(request):
        done = replies.wait_for(model=FeedbackRequest, pk=generating.pk)
        if done is not None and done.state == ReplyState.COMPLETE:
            return HttpResponseRedirect(back_url, status=303)
        problem = done.problem if done is not None and done.problem else replies.DEAD_GENERATOR_PROBLEM
        return refuse(f"Your answer is saved. {problem}", tutor.status_for_problem(problem))
    return ndjson(feedback_events(request, generating))


def feedback_events(request: HttpRequest, generating: FeedbackRequest) -> Iterator[dict]:
    """Feedback as chat.js reads it, tailed from the database: `delta` pieces, then `done` or `error`."""
    yield {"event": "started", "poll": reverse("chat:feedback-state", kwargs={"request_id": generating.pk})}
    for event in replies.follow(model=FeedbackRequest, pk=generating.pk):
        if event.kind == "delta":
            yield {"event": "delta", "text": event.text}
        elif event.kind == ReplyState.COMPLETE:
            saved = QuestionAnswer.objects.get(pk=generating.answer_id)
            html = render_to_string("chat/question.html#feedback", {"answer": saved}, request=request)
            yield {"event": "done", "html": html}
        else:
            row = event.row
            problem = row.problem if row is not None and row.problem else replies.DEAD_GENERATOR_PROBLEM
            context = {"request_row": row, "message": f"Your answer is saved. {problem}"}
            html = render_to_string("chat/question.html#feedback-interrupted", context, request=request)
            yield {"event": "error", "message": problem, "html": html}
