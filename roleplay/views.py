"""Views of a roleplay: the learner's lines, the character's streamed replies, finishing, trying again, feedback.

They speak the chat's transport (`static/js/chat.js`): sending is a quick POST that saves the learner's line
and answers with it plus a reply placeholder, which chat.js streams into from the reply URL (JSON lines);
a reply still being generated when the page loads polls `reply-state` with htmx ("still replying…").
Without JavaScript the same forms post normally, the server waits for the whole reply and redirects back.
Refusals answer with a clear status and message, as the chat's do (`chat.views.refusal`).
"""

from collections.abc import Iterator
from uuid import UUID

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from chat import replies, tutor
from chat import services as chat_services
from chat.models import ReplyState
from chat.panels import require_learner
from chat.views import FALLBACK_URL, refusal
from ops.http import HtmxHttpRequest, ndjson, safe_next, wants_stream
from roleplay import character, services
from roleplay.models import RoleplayAttempt, RoleplayFeedback, RoleplayMessage
from roleplay.panels import RoleplayPanel, build_roleplay_panel, roleplay_dom_id, roleplay_segment
from voice import client as voice

TEMPLATE = "roleplay/roleplay.html"


def _refuse(request: HttpRequest, roleplay_id: UUID, message: str, status: int, **kwargs) -> HttpResponse:
    back_url = safe_next(request, FALLBACK_URL)
    return refusal(
        request, message=message, status=status, dom_id=roleplay_dom_id(roleplay_id), back_url=back_url, **kwargs
    )


def _panel(request: HttpRequest, item, segment, attempts=None) -> RoleplayPanel:
    """The panel for fragments: its URLs, and the learner's attempts (loaded unless `attempts` given)."""
    return build_roleplay_panel(request, item=item, segment=segment, attempts=attempts)


@require_POST
@transaction.non_atomic_requests
def send(request: HtmxHttpRequest, item_id: UUID, roleplay_id: UUID) -> HttpResponse:
    """Save the learner's line; htmx gets it back with a reply placeholder that chat.js streams into."""
    item, segment = roleplay_segment(request, item_id, roleplay_id)
    learner = require_learner(request)
    if not tutor.is_configured():
        return _refuse(request, roleplay_id, character.NOT_CONFIGURED_MESSAGE, 503)
    try:
        message = services.send_learner_message(
            learner=learner,
            item_id=item.pk,
            item_type=item.content_type,
            segment=segment,
            text=request.POST.get("text", ""),
        )
    except chat_services.ChatError as error:
        return _refuse(
            request, roleplay_id, error.message, error.status, retry_after=getattr(error, "retry_after", None)
        )
    reply_url = reverse("roleplay:reply", kwargs={"item_id": item.pk, "roleplay_id": roleplay_id})
    try:
        chat_services.count_tutor_call(learner=learner)
    except chat_services.RateLimited as error:
        return _refuse(
            request,
            roleplay_id,
            f"Your message is saved. {error.message}",
            error.status,
            retry_url=reply_url,
            retry_after=error.retry_after,
        )
    attempt = RoleplayAttempt.objects.prefetch_related("messages").get(pk=message.attempt_id)
    try:
        reply = character.ask_for_reply(attempt=attempt, segment=segment)
    except tutor.TutorError as error:
        return _refuse(request, roleplay_id, error.message, error.status)
    if request.htmx:
        panel = _panel(request, item, segment, attempts=[])
        return render(request, f"{TEMPLATE}#sent", {"roleplay": panel, "message": message, "reply": reply})
    return _wait_and_redirect(request, roleplay_id=roleplay_id, reply=reply, retry_url=reply_url)


@require_POST
@transaction.non_atomic_requests
def reply(request: HttpRequest, item_id: UUID, roleplay_id: UUID) -> HttpResponse:
    """The character's reply to the learner's unanswered line: streamed to chat.js, else waited for.

    Follows the reply being generated when there is one; else it is "Try again" after a failure: the
    character is asked again for the saved line (a new model call, counted), which is not saved twice.
    """
    item, segment = roleplay_segment(request, item_id, roleplay_id)
    learner = require_learner(request)
    attempt = services.active_attempt(learner=learner, roleplay_id=roleplay_id)
    reply_id = request.POST.get("reply_id", "")
    reply = None
    if attempt is not None and reply_id.isdigit() and len(reply_id) < 19:
        reply = next((m for m in attempt.messages.all() if m.pk == int(reply_id) and m.role == "assistant"), None)
    try:
        if not tutor.is_configured():
            raise tutor.TutorNotConfigured(character.NOT_CONFIGURED_MESSAGE)
        if reply is None:
            if attempt is None or (
                character.pending_message(attempt) is None and character.generating_reply(attempt) is None
            ):
                raise tutor.NothingToAnswer("There is no message waiting for the character's reply.")
            if character.generating_reply(attempt) is None:
                chat_services.count_tutor_call(learner=learner)
            reply = character.ask_for_reply(attempt=attempt, segment=segment)
    except (tutor.TutorError, chat_services.ChatError) as error:
        return _refuse(
            request, roleplay_id, error.message, error.status, retry_after=getattr(error, "retry_after", None)
        )
    reply_url = reverse("roleplay:reply", kwargs={"item_id": item.pk, "roleplay_id": roleplay_id})
    if not wants_stream(request):
        return _wait_and_redirect(request, roleplay_id=roleplay_id, reply=reply, retry_url=reply_url)
    panel = _panel(request, item, segment, attempts=[])
    panel.next_url = safe_next(request, FALLBACK_URL)
    return ndjson(_reply_events(request, panel=panel, reply=reply))


def _reply_events(request: HttpRequest, *, panel: RoleplayPanel, reply: RoleplayMessage) -> Iterator[dict]:
    """The reply as chat.js reads it, tailed from the database: `delta` pieces, then `done` or `error`."""
    yield {
        "event": "started",
        "poll": reverse("roleplay:reply-state", kwargs={**panel.url_kwargs, "message_id": reply.pk}),
    }
    for event in replies.follow(model=RoleplayMessage, pk=reply.pk):
        if event.kind == "delta":
            yield {"event": "delta", "text": event.text}
        elif event.kind == ReplyState.COMPLETE:
            html = render_to_string(f"{TEMPLATE}#message", {"message": event.row, "roleplay": panel}, request)
            yield {"event": "done", "html": html}
        else:
            row = event.row
            message = row.problem if row is not None and row.problem else replies.DEAD_GENERATOR_PROBLEM
            html = render_to_string(f"{TEMPLATE}#failed", {"message": message, "roleplay": panel}, request)
            kept = ""
            if row is not None and row.text:
                kept = render_to_string(f"{TEMPLATE}#message", {"message": row, "roleplay": panel}, request)
            yield {"event": "error", "message": message, "html": html, "message_html": kept}


def _wait_and_redirect(
    request: HttpRequest, *, roleplay_id: UUID, reply: RoleplayMessage, retry_url: str
) -> HttpResponse:
    """Without JavaScript: wait for the whole reply (no transaction open), then go back to the page."""
    saved = replies.wait_for(model=RoleplayMessage, pk=reply.pk)
    if saved is not None and saved.state == ReplyState.COMPLETE:
        return HttpResponseRedirect(safe_next(request, FALLBACK_URL), status=303)
    problem = saved.problem if saved is not None and saved.problem else replies.DEAD_GENERATOR_PROBLEM
    return _refuse(
        request,
        roleplay_id,
        f"Your message is saved. {problem}",
        tutor.status_for_problem(problem),
        retry_url=retry_url,
    )


@require_safe
def reply_state(request: HtmxHttpRequest, item_id: UUID, roleplay_id: UUID, message_id: int) -> HttpResponse:
    """A character reply as it stands (polled by htmx while it is generated), and "Try again" once interrupted."""
    item, segment = roleplay_segment(request, item_id, roleplay_id)
    learner = require_learner(request)
    mine = RoleplayAttempt.objects.owned_by(learner)
    message = get_object_or_404(
        RoleplayMessage.objects.filter(attempt__in=mine), pk=message_id, role=RoleplayMessage.Role.ASSISTANT
    )
    replies.expire_dead(RoleplayMessage.objects.filter(pk=message.pk))
    message.refresh_from_db()
    if not request.htmx:
        return HttpResponseRedirect(safe_next(request, FALLBACK_URL), status=303)
    panel = _panel(request, item, segment, attempts=[])
    return render(request, f"{TEMPLATE}#polled", {"roleplay": panel, "message": message})


@require_safe
@transaction.non_atomic_requests  # the speech server is called: never inside a transaction
def speech(request: HttpRequest, item_id: UUID, roleplay_id: UUID, message_id: int) -> HttpResponse:
    """One of the character's complete lines in the learner's own attempts, read aloud (`audio/mpeg`).

    Played by static/js/speech.js; a model call, counted like the others. Refusals are JSON `{"error": ...}`
    the script shows beside the "Play" button. 404 for anyone else's lines, the learner's own, lines still
    being generated or cut off, and when spoken replies are off (SPEECH_VOICE empty).
    """
    roleplay_segment(request, item_id, roleplay_id)
    learner = require_learner(request)
    if not voice.can_speak():
        raise Http404("Spoken replies are off on this server.")
    mine = RoleplayAttempt.objects.owned_by(learner).filter(roleplay_id=roleplay_id)
    message = get_object_or_404(
        RoleplayMessage.objects.filter(
            attempt__in=mine, role=RoleplayMessage.Role.ASSISTANT, state=ReplyState.COMPLETE
        ).exclude(text=""),
        pk=message_id,
    )
    if request.method == "HEAD":  # says the line can be heard, without a (paid, counted) speech call
        return HttpResponse(content_type="audio/mpeg", headers={"Cache-Control": "private, no-store"})
    try:
        chat_services.count_tutor_call(learner=learner)
    except chat_services.RateLimited as error:
        return JsonResponse({"error": error.message}, status=429, headers={"Retry-After": str(error.retry_after)})
    try:
        audio = voice.speak(message.text)
    except voice.SpeechError as error:
        return JsonResponse({"error": error.message}, status=error.status)
    return HttpResponse(audio, content_type="audio/mpeg", headers={"Cache-Control": "private, no-store"})


def _back(request: HtmxHttpRequest, item, segment) -> HttpResponse:
    """After finishing or trying again: the whole panel for htmx, else back to the page."""
    if request.htmx:
        return render(request, f"{TEMPLATE}#panel", {"roleplay": _panel(request, item, segment)})
    return HttpResponseRedirect(safe_next(request, FALLBACK_URL), status=303)


@require_POST
def finish(request: HtmxHttpRequest, item_id: UUID, roleplay_id: UUID) -> HttpResponse:
    """ "Finish conversation": no more messages; the transcript stays readable."""
    item, segment = roleplay_segment(request, item_id, roleplay_id)
    learner = require_learner(request)
    try:
        services.finish_attempt(learner=learner, roleplay_id=roleplay_id)
    except chat_services.ChatError as error:
        return _refuse(request, roleplay_id, error.message, error.status)
    return _back(request, item, segment)


@require_POST
def restart(request: HtmxHttpRequest, item_id: UUID, roleplay_id: UUID) -> HttpResponse:
    """ "Try again": the attempt goes under "Past attempts" and a fresh one starts with the opening message."""
    item, segment = roleplay_segment(request, item_id, roleplay_id)
    learner = require_learner(request)
    services.try_again(learner=learner, roleplay_id=roleplay_id)
    return _back(request, item, segment)


@require_POST
@transaction.non_atomic_requests
def feedback(request: HttpRequest, item_id: UUID, roleplay_id: UUID) -> HttpResponse:
    """The tutor's feedback on the finished conversation: streamed to chat.js, else waited for."""
    item, segment = roleplay_segment(request, item_id, roleplay_id)
    learner = require_learner(request)
    if not segment.get("feedback"):
        return _refuse(request, roleplay_id, "This roleplay has no tutor feedback.", 404)
    if not tutor.is_configured():
        return _refuse(request, roleplay_id, character.NOT_CONFIGURED_MESSAGE, 503)
    attempt = services.active_attempt(learner=learner, roleplay_id=roleplay_id)
    if attempt is None or not attempt.is_finished:
        return _refuse(request, roleplay_id, "Finish the conversation first; the tutor gives feedback on it.", 409)
    try:
        chat_services.count_tutor_call(learner=learner)
        generating = character.ask_for_feedback(attempt=attempt, segment=segment)
    except (tutor.TutorError, chat_services.ChatError) as error:
        return _refuse(
            request, roleplay_id, error.message, error.status, retry_after=getattr(error, "retry_after", None)
        )
    if not wants_stream(request):
        done = replies.wait_for(model=RoleplayFeedback, pk=generating.pk)
        if done is not None and done.state == ReplyState.COMPLETE:
            return HttpResponseRedirect(safe_next(request, FALLBACK_URL), status=303)
        problem = done.problem if done is not None and done.problem else replies.DEAD_GENERATOR_PROBLEM
        return _refuse(request, roleplay_id, problem, tutor.status_for_problem(problem))
    panel = _panel(request, item, segment, attempts=[])
    return ndjson(_feedback_events(request, panel=panel, generating=generating))


def _feedback_events(request: HttpRequest, *, panel: RoleplayPanel, generating: RoleplayFeedback) -> Iterator[dict]:
    """Feedback as chat.js reads it: `delta` pieces, then `done` or `error`."""
    poll = reverse("roleplay:feedback-state", kwargs={**panel.url_kwargs, "feedback_id": generating.pk})
    yield {"event": "started", "poll": poll}
    for event in replies.follow(model=RoleplayFeedback, pk=generating.pk):
        if event.kind == "delta":
            yield {"event": "delta", "text": event.text}
        else:
            html = render_to_string(f"{TEMPLATE}#feedback-state", {"row": event.row, "roleplay": panel}, request)
            yield {"event": "done" if event.kind == ReplyState.COMPLETE else "error", "html": html, "message": ""}


@require_safe
def feedback_state(request: HtmxHttpRequest, item_id: UUID, roleplay_id: UUID, feedback_id: int) -> HttpResponse:
    """Feedback on a transcript as it stands (polled by htmx while it is generated)."""
    item, segment = roleplay_segment(request, item_id, roleplay_id)
    learner = require_learner(request)
    mine = RoleplayAttempt.objects.owned_by(learner)
    row = get_object_or_404(RoleplayFeedback.objects.filter(attempt__in=mine), pk=feedback_id)
    replies.expire_dead(RoleplayFeedback.objects.filter(pk=row.pk))
    row.refresh_from_db()
    if not request.htmx:
        return HttpResponseRedirect(safe_next(request, FALLBACK_URL), status=303)
    panel = _panel(request, item, segment, attempts=[])
    return render(request, f"{TEMPLATE}#feedback-state", {"row": row, "roleplay": panel})
