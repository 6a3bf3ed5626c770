"""Views of the tutor chat and of question answers.

Sending is a quick POST that saves the learner's message and answers with the new message plus a reply
placeholder; `static/js/chat.js` then POSTs to the reply URL and reads the tutor's reply as it streams
(newline-delimited JSON). Without JavaScript the same forms post normally: the server waits for the
whole reply and redirects back (to the page named by the form's `next`). Refusals (limits, a missing
tutor) answer with a clear status and a message: a fragment for HTMX and the chat script, a small page
for a plain form.

`answer` (which also saves drafts, posted with `draft=1`) and `feedback` are not routed here: whether an
answer may still change depends on progress (its lens or test is completed), which chat never imports.
The learner pages call them from views on their own URLs with `locked` decided (learn/views/answers.py).
"""

import json
from collections.abc import AsyncIterator, Iterator
from uuid import UUID

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe
from django_htmx.http import reswap, retarget
from django_htmx.middleware import HtmxDetails

from chat import replies, services, tutor
from chat.models import ChatMessage, ChatSession, FeedbackRequest, QuestionAnswer, ReplyState
from chat.panels import (
    Conversation,
    build_chat_panel,
    build_question_box,
    chat_dom_id,
    chat_segment,
    question_dom_id,
    question_segment,
    require_learner,
)
from content_loader.models import NO_STORED_ID_MESSAGE, ContentItem

STREAM_CONTENT_TYPE = "application/x-ndjson"
# Where a plain form goes back to when it posted no usable `next` (the forms always post one).
FALLBACK_URL = "/"
WRITE_FIRST = "Write an answer first; the tutor gives feedback on it."


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


# Responses


def wants_stream(request: HttpRequest) -> bool:
    return STREAM_CONTENT_TYPE in request.headers.get("Accept", "")


def is_enhanced(request: HttpRequest) -> bool:
    """Whether the request came from htmx or the chat script (a fragment answers), not a plain form."""
    return bool(getattr(request, "htmx", False)) or wants_stream(request)


def safe_next(request: HttpRequest, fallback: str, *, name: str = "next") -> str:
    """The URL `name` (posted, or in the query string of a GET) when it stays on this site, else `fallback`."""
    url = (request.POST if request.method == "POST" else request.GET).get(name, "")
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=False):
        return url
    return fallback


def refusal(
    request: HttpRequest,
    *,
    message: str,
    status: int,
    dom_id: str,
    back_url: str,
    retry_url: str = "",
    retry_after: int | None = None,
) -> HttpResponse:
    """A refusal the learner can act on: a status fragment for htmx and the chat script, else a page."""
    context = {
        "message": message,
        "retry_url": retry_url,
        "next_url": back_url,
        "back_url": back_url,
        "text": request.POST.get("text", ""),
        "status": status,
    }
    if is_enhanced(request):
        response = render(request, "chat/lens_chat.html#notice", context, status=status)
        if getattr(request, "htmx", False):
            response = reswap(retarget(response, f"#{dom_id}-status"), "innerHTML")
    else:
        response = render(request, "chat/refused.html", context, status=status)
    response["X-Chat-Refusal"] = "1"
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def ndjson(events: Iterator[dict] | AsyncIterator[dict]) -> StreamingHttpResponse:
    """A streamed response of JSON lines, sent as they are produced (no proxy buffering).

    Asynchronous events (an ASGI server) are sent as they come too; a synchronous iterator would be
    consumed whole before anything is sent there (Django's StreamingHttpResponse under ASGI).
    """
    if isinstance(events, AsyncIterator):
        lines = _async_lines(events)
    else:
        lines = (json.dumps(event) + "\n" for event in events)
    response = StreamingHttpResponse(lines, content_type=STREAM_CONTENT_TYPE)
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


async def _async_lines(events: AsyncIterator[dict]) -> AsyncIterator[str]:
    async for event in events:
        yield json.dumps(event) + "\n"


# Chat


@require_POST
@transaction.non_atomic_requests
def send(request: HtmxHttpRequest, lens_id: UUID, segment_index: int) -> HttpResponse:
    """Save the learner's message; htmx gets it back with a reply placeholder that chat.js streams into."""
    lens, segment = chat_segment(request, lens_id, segment_index)
    user_id, session_token = require_learner(request)
    dom_id = chat_dom_id(lens.pk, segment_index)
    back_url = safe_next(request, FALLBACK_URL)
    if not lens.stores_progress:
        return refusal(request, message=NO_STORED_ID_MESSAGE, status=409, dom_id=dom_id, back_url=back_url)
    if not tutor.is_configured():
        return refusal(request, message=tutor.NOT_CONFIGURED_MESSAGE, status=503, dom_id=dom_id, back_url=back_url)
    try:
        message = services.send_learner_message(
            user_id=user_id,
            session_token=session_token,
            content_id=lens.pk,
            content_type=lens.content_type,
            lens_id=lens.pk,
            text=request.POST.get("text", ""),
        )
    except services.ChatError as error:
        retry_after = getattr(error, "retry_after", None)
        return refusal(
            request,
            message=error.message,
            status=error.status,
            dom_id=dom_id,
            back_url=back_url,
            retry_after=retry_after,
        )
    # The tutor is asked now: its reply is generated and saved even if the learner leaves at once.
    try:
        services.count_tutor_call(user_id=user_id, session_token=session_token)
    except services.RateLimited as error:
        return refusal(
            request,
            message=f"Your message is saved. {error.message}",
            status=error.status,
            dom_id=dom_id,
            back_url=back_url,
            retry_url=reverse("chat:reply", kwargs={"lens_id": lens.pk, "segment_index": segment_index}),
            retry_after=error.retry_after,
        )
    session = ChatSession.objects.prefetch_related("messages").get(pk=message.session_id)
    try:
        reply = tutor.ask_for_reply(session=session, lens_title=lens.title, body=lens.body, segment_index=segment_index)
    except tutor.TutorError as error:
        return refusal(request, message=error.message, status=error.status, dom_id=dom_id, back_url=back_url)
    if request.htmx:
        # The fragment needs the panel's URLs only, not the conversation: no query for it.
        panel = build_chat_panel(request, lens=lens, segment=segment, conversation=Conversation())
        return render(request, "chat/lens_chat.html#sent", {"chat": panel, "message": message, "reply": reply})
    return wait_and_redirect(request, lens=lens, segment=segment, reply=reply, back_url=back_url)


@require_POST
@transaction.non_atomic_requests
def reply(request: HttpRequest, lens_id: UUID, segment_index: int) -> HttpResponse:
    """The tutor's reply to the learner's unanswered message: streamed to chat.js, else waited for.

    Follows the reply being generated when there is one (sent a moment ago, or in another tab); else it
    is "Try again" after a failure: it asks the tutor again for the saved message without saving it twice.
    """
    lens, segment = chat_segment(request, lens_id, segment_index)
    user_id, session_token = require_learner(request)
    dom_id = chat_dom_id(lens.pk, segment_index)
    back_url = safe_next(request, FALLBACK_URL)
    if not lens.stores_progress:
        return refusal(request, message=NO_STORED_ID_MESSAGE, status=409, dom_id=dom_id, back_url=back_url)
    session = ChatSession.objects.for_chat_panel(
        user_id=user_id, session_token=session_token, content_id=lens.pk
    ).first()
    # The reply a send began (the placeholder names it): followed even when it finished before we got here.
    reply_id = request.POST.get("reply_id", "")
    reply = None
    if session is not None and reply_id.isdigit() and len(reply_id) < 19:
        reply = next((m for m in session.messages.all() if m.pk == int(reply_id) and m.role == "assistant"), None)
    try:
        if not tutor.is_configured():
            raise tutor.TutorNotConfigured(tutor.NOT_CONFIGURED_MESSAGE)
        if reply is None:
            if session is None or (tutor.pending_message(session) is None and tutor.generating_reply(session) is None):
                raise tutor.NothingToAnswer("There is no message waiting for the tutor's reply.")
            if tutor.generating_reply(session) is None:  # "Try again": a new model call, counted
                services.count_tutor_call(user_id=user_id, session_token=session_token)
            reply = tutor.ask_for_reply(
                session=session, lens_title=lens.title, body=lens.body, segment_index=segment_index
            )
    except (tutor.TutorError, services.ChatError) as error:
        return refusal(
            request,
            message=error.message,
            status=error.status,
            dom_id=dom_id,
            back_url=back_url,
            retry_after=getattr(error, "retry_after", None),
        )
    if not wants_stream(request):
        return wait_and_redirect(request, lens=lens, segment=segment, reply=reply, back_url=back_url)
    # The reply's fragments need the panel's URLs only, not the conversation: no query for it.
    panel = build_chat_panel(
        request, lens=lens, segment=segment, next_url=back_url.split("#")[0], conversation=Conversation()
    )
    if isinstance(request, ASGIRequest):
        return ndjson(areply_events(request, panel=panel, reply=reply))
    return ndjson(reply_events(request, panel=panel, reply=reply))


def reply_events(request: HttpRequest, *, panel, reply: ChatMessage) -> Iterator[dict]:
    """The reply as chat.js reads it, tailed from the database: `delta` pieces, then `done` or `error`.

    The browser going away only stops this tail; the reply goes on being generated and saved.
    """
    yield reply_started(panel, reply)
    for event in replies.follow(model=ChatMessage, pk=reply.pk):
        yield reply_event(request, panel, event)


async def areply_events(request: HttpRequest, *, panel, reply: ChatMessage) -> AsyncIterator[dict]:
    """`reply_events` under ASGI: tailed on the event loop, so a streamed reply holds no thread."""
    yield reply_started(panel, reply)
    async for event in replies.afollow(model=ChatMessage, pk=reply.pk):
        if event.kind == "delta":
            yield reply_event(request, panel, event)
        else:  # rendering templates (and their queries) is synchronous
            yield await sync_to_async(reply_event)(request, panel, event)


def reply_started(panel, reply: ChatMessage) -> dict:
    kwargs = {**panel.url_kwargs, "message_id": reply.pk}
    return {"event": "started", "poll": reverse("chat:reply-state", kwargs=kwargs)}


def reply_event(request: HttpRequest, panel, event: replies.Event) -> dict:
    """One line of the stream: a `delta` piece, or how the reply ended (`done`, `error`) with its HTML."""
    if event.kind == "delta":
        return {"event": "delta", "text": event.text}
    if event.kind == ReplyState.COMPLETE:
        html = render_to_string("chat/lens_chat.html#message", {"message": event.row, "chat": panel}, request)
        return {"event": "done", "html": html}
    row = event.row
    message = row.problem if row is not None and row.problem else replies.DEAD_GENERATOR_PROBLEM
    html = render_to_string("chat/lens_chat.html#failed", {"message": message, "chat": panel}, request)
    kept = ""
    if row is not None and row.text:
        kept = render_to_string("chat/lens_chat.html#message", {"message": row, "chat": panel}, request)
    return {"event": "error", "message": message, "html": html, "message_html": kept}


def wait_and_redirect(
    request: HttpRequest, *, lens: ContentItem, segment: dict, reply: ChatMessage, back_url: str
) -> HttpResponse:
    """Without JavaScript: wait for the whole reply (no transaction open), then go back to the page."""
    saved = replies.wait_for(model=ChatMessage, pk=reply.pk)
    if saved is not None and saved.state == ReplyState.COMPLETE:
        return HttpResponseRedirect(back_url, status=303)
    problem = saved.problem if saved is not None and saved.problem else replies.DEAD_GENERATOR_PROBLEM
    retry_url = reverse("chat:reply", kwargs={"lens_id": lens.pk, "segment_index": segment["index"]})
    return refusal(
        request,
        message=f"Your message is saved. {problem}",
        status=tutor.status_for_problem(problem),
        dom_id=chat_dom_id(lens.pk, segment["index"]),
        back_url=back_url,
        retry_url=retry_url,
    )


@require_safe
def reply_state(request: HtmxHttpRequest, lens_id: UUID, segment_index: int, message_id: int) -> HttpResponse:
    """A tutor reply as it stands (polled by htmx while it is generated): the message, and "Try again" if
    it was interrupted. A returning learner's page polls this, on whichever server, until it is done."""
    lens, segment = chat_segment(request, lens_id, segment_index)
    user_id, session_token = require_learner(request)
    message = get_object_or_404(
        ChatMessage.objects.filter(
            session__in=ChatSession.objects.owned_by(user_id=user_id, session_token=session_token)
        ),
        pk=message_id,
        role=ChatMessage.Role.ASSISTANT,
    )
    replies.expire_dead(ChatMessage.objects.filter(pk=message.pk))
    message.refresh_from_db()
    if not request.htmx:
        return HttpResponseRedirect(safe_next(request, FALLBACK_URL), status=303)
    panel = build_chat_panel(request, lens=lens, segment=segment, conversation=Conversation())
    return render(request, "chat/lens_chat.html#polled", {"chat": panel, "message": message})


@require_POST
def new_conversation(request: HtmxHttpRequest, lens_id: UUID, segment_index: int) -> HttpResponse:
    """ "Start a new conversation": archive the active one (still readable) and start an empty one."""
    lens, segment = chat_segment(request, lens_id, segment_index)
    user_id, session_token = require_learner(request)
    # Read the form before writing: a body that cannot be parsed is refused with nothing changed.
    back_url = safe_next(request, FALLBACK_URL)
    if not lens.stores_progress:
        dom_id = chat_dom_id(lens.pk, segment_index)
        return refusal(request, message=NO_STORED_ID_MESSAGE, status=409, dom_id=dom_id, back_url=back_url)
    services.start_new_conversation(
        user_id=user_id, session_token=session_token, content_id=lens.pk, content_type=lens.content_type
    )
    if request.htmx:
        panel = build_chat_panel(request, lens=lens, segment=segment)
        return render(request, "chat/lens_chat.html#panel", {"chat": panel})
    return HttpResponseRedirect(back_url, status=303)


@require_safe
def conversation(request: HtmxHttpRequest, session_id: int) -> HttpResponse:
    """A past (or the active) conversation of the learner, read-only."""
    user_id, session_token = require_learner(request)
    session = get_object_or_404(
        ChatSession.objects.owned_by(user_id=user_id, session_token=session_token).prefetch_related("messages"),
        pk=session_id,
    )
    lens = ContentItem.objects.filter(pk=session.content_id).first() if session.content_id else None
    context = {
        "session": session,
        "messages": list(session.messages.all()),
        "lens": lens,
        "back_url": safe_next(request, ""),
    }
    if request.htmx:
        return render(request, "chat/conversation.html#transcript", context)
    return render(request, "chat/conversation.html", context)


# Questions


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
    """Save the learner's answer to a question, unless `locked` (the lens or test is completed): then 409.

    Called by a view of the learner pages, which decides `locked`, and gives `back_url` (where a plain
    form returns without a `next`) and `feedback_url` (its feedback view; "" for no "Get feedback").
    """
    item, question = question_segment(request, item_id, question_key)
    user_id, session_token = require_learner(request)
    dom_id = question_dom_id(item.pk, question_key)
    back_url = safe_next(request, back_url)
    if not item.stores_progress:
        return refusal(request, message=NO_STORED_ID_MESSAGE, status=409, dom_id=dom_id, back_url=back_url)
    if request.POST.get("draft"):
        return draft(request, item=item, question=question, locked=locked, dom_id=dom_id, back_url=back_url)
    try:
        services.save_answer(
            user_id=user_id,
            session_token=session_token,
            content_id=item.pk,
            content_type=item.content_type,
            question=question,
            text=request.POST.get("text", ""),
            locked=locked,
        )
    except services.ChatError as error:
        return refusal(request, message=error.message, status=error.status, dom_id=dom_id, back_url=back_url)
    if request.htmx:
        box = build_question_box(
            request,
            item=item,
            segment=question,
            locked=locked,
            answer_url=request.path,
            feedback_url=feedback_url,
            start_url=start_url,
        )
        return render(request, "chat/question.html#box", {"box": box, "just_saved": True})
    return HttpResponseRedirect(back_url, status=303)


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

    Called by a view of the learner pages like `answer`. Refused (409) once the lens or test is completed.
    """
    item, question = question_segment(request, item_id, question_key)
    user_id, session_token = require_learner(request)
    dom_id = question_dom_id(item.pk, question_key)
    back_url = safe_next(request, back_url)
    if not item.stores_progress:
        return refusal(request, message=NO_STORED_ID_MESSAGE, status=409, dom_id=dom_id, back_url=back_url)
    if locked:
        message = "This answer can no longer be changed: the lens or test is completed."
        return refusal(request, message=message, status=409, dom_id=dom_id, back_url=back_url)
    if not question.get("max_time_seconds"):
        raise Http404("This question is not timed.")
    services.start_answer(user_id=user_id, session_token=session_token, content_id=item.pk, question=question)
    if request.htmx:
        box = build_question_box(
            request,
            item=item,
            segment=question,
            locked=locked,
            answer_url=answer_url,
            feedback_url=feedback_url,
            start_url=request.path,
        )
        return render(request, "chat/question.html#box", {"box": box})
    return HttpResponseRedirect(back_url, status=303)


def draft(
    request: HttpRequest, *, item: ContentItem, question: dict, locked: bool, dom_id: str, back_url: str
) -> HttpResponse:
    """Save the text being typed as the question's draft (chat.js, as the learner types and on leaving the
    page: a POST of the answer form with `draft=1`); 204, or a refusal the learner can act on."""
    user_id, session_token = require_learner(request)
    try:
        services.save_draft(
            user_id=user_id,
            session_token=session_token,
            content_id=item.pk,
            content_type=item.content_type,
            question=question,
            text=request.POST.get("text", ""),
            locked=locked,
        )
    except services.ChatError as error:
        return refusal(request, message=error.message, status=error.status, dom_id=dom_id, back_url=back_url)
    return HttpResponse(status=204)


def feedback(request: HttpRequest, item_id: UUID, question_key: str, *, locked: bool, back_url: str) -> HttpResponse:
    """Save the answer (unless `locked`), then the tutor's feedback on it: streamed to chat.js, else waited for.

    Called by a view of the learner pages (decorated `transaction.non_atomic_requests`: no transaction may
    stay open while the tutor answers), which decides `locked`; a locked answer gets feedback as saved.
    """
    item, question = question_segment(request, item_id, question_key)
    user_id, session_token = require_learner(request)
    dom_id = question_dom_id(item.pk, question_key)
    back_url = safe_next(request, back_url)
    if not item.stores_progress:
        return refusal(request, message=NO_STORED_ID_MESSAGE, status=409, dom_id=dom_id, back_url=back_url)

    def refuse(message: str, status: int, retry_after: int | None = None) -> HttpResponse:
        return refusal(
            request, message=message, status=status, dom_id=dom_id, back_url=back_url, retry_after=retry_after
        )

    if not question.get("feedback"):
        return refuse("This question has no tutor feedback.", 404)
    if not tutor.is_configured():
        return refuse(tutor.NOT_CONFIGURED_MESSAGE, 503)
    owner = {"user_id": user_id, "session_token": session_token}
    if "text" in request.POST and not locked and not request.POST["text"].strip():
        return refuse(WRITE_FIRST, 400)  # refused before anything is saved
    try:
        if "text" in request.POST and not locked:
            saved = services.save_answer(
                **owner,
                content_id=item.pk,
                content_type=item.content_type,
                question=question,
                text=request.POST["text"],
                locked=False,
            )
        else:
            saved = (
                QuestionAnswer.objects.current()
                .owned_by(**owner)
                .for_question(content_id=item.pk, question_key=question_key)
                .first()
            )
    except services.ChatError as error:
        return refuse(error.message, error.status, getattr(error, "retry_after", None))
    if saved is None or not saved.text.strip():
        return refuse(WRITE_FIRST, 400)
    try:
        services.count_tutor_call(**owner)
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
            answer = QuestionAnswer.objects.get(pk=generating.answer_id)
            html = render_to_string("chat/question.html#feedback", {"answer": answer}, request=request)
            yield {"event": "done", "html": html}
        else:
            row = event.row
            problem = row.problem if row is not None and row.problem else replies.DEAD_GENERATOR_PROBLEM
            context = {"request_row": row, "message": f"Your answer is saved. {problem}"}
            html = render_to_string("chat/question.html#feedback-interrupted", context, request=request)
            yield {"event": "error", "message": problem, "html": html}


@require_safe
def feedback_state(request: HtmxHttpRequest, request_id: int) -> HttpResponse:
    """Feedback on an answer as it stands (polled by htmx while it is generated), for a returning learner."""
    user_id, session_token = require_learner(request)
    row = get_object_or_404(
        FeedbackRequest.objects.filter(
            answer__in=QuestionAnswer.objects.owned_by(user_id=user_id, session_token=session_token)
        ).select_related("answer"),
        pk=request_id,
    )
    replies.expire_dead(FeedbackRequest.objects.filter(pk=row.pk))
    row.refresh_from_db()
    if not request.htmx:
        return HttpResponseRedirect(safe_next(request, FALLBACK_URL), status=303)
    return render(request, "chat/question.html#feedback-state", {"request_row": row, "answer": row.answer})
