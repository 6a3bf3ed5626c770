"""`POST /voice/transcribe`: a recording from the answer box's record button (static/js/voice.js) back as text.

The body is the recording itself (`Content-Type: audio/...`, `?seconds=` how long it lasted), not a form:
Django then never parses it into an upload (which goes to a temporary file past
FILE_UPLOAD_MAX_MEMORY_SIZE); it is read into memory here, at most SPEECH_MAX_BYTES, sent to the speech
server and dropped when the response is sent. CSRF comes in the X-CSRFToken header. Answers are JSON:
`{"text": ...}`, or `{"error": message}` with a status (400, 403, 413, 422, 429, 502, 503, 504).
"""

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_POST

from chat import services as chat_services
from chat.panels import learner_of
from voice import client

EXTENSIONS = {"audio/webm": "webm", "audio/ogg": "ogg", "audio/mp4": "mp4", "audio/mpeg": "mp3", "audio/wav": "wav"}


def _refuse(message: str, status: int, **headers) -> JsonResponse:
    return JsonResponse({"error": message}, status=status, headers=headers)


def _too_large() -> JsonResponse:
    limit = settings.SPEECH_MAX_BYTES
    size = f"{limit / 1_000_000:.1f} MB" if limit >= 100_000 else f"{limit:,} bytes"
    return _refuse(f"The recording is too large (at most {size}): record a shorter answer.", 413)


@require_POST
@transaction.non_atomic_requests  # the speech server is called: never inside a transaction
def transcribe(request: HttpRequest) -> JsonResponse:
    """The recording in the body as text, counted like a model call (chat.services.count_tutor_call)."""
    learner = learner_of(request)
    if learner is None:
        return _refuse("We could not tell who you are. Reload the page (cookies must be allowed) or log in.", 403)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0:
        return _refuse("No recording arrived. Record your answer again.", 400)
    content_type = request.content_type or ""
    if not content_type.startswith("audio/"):
        return _refuse("That upload is not a sound recording. Record your answer again.", 400)
    if length > settings.SPEECH_MAX_BYTES:
        return _too_large()  # refused before the body is read
    try:
        seconds = float(request.GET.get("seconds", "0"))
    except ValueError:
        return _refuse("The recording's length was not a number. Record your answer again.", 400)
    if seconds > settings.SPEECH_MAX_SECONDS + 1:  # a second's slack for the recorder stopping late
        return _refuse(
            f"The recording is {seconds:.0f} seconds long; at most {settings.SPEECH_MAX_SECONDS} seconds are "
            "allowed. Record a shorter answer.",
            413,
        )
    audio = request.read(settings.SPEECH_MAX_BYTES + 1)
    if len(audio) > settings.SPEECH_MAX_BYTES:
        return _too_large()
    if not audio:
        return _refuse("No recording arrived. Record your answer again.", 400)
    if not client.can_transcribe():
        return _refuse(client.NOT_CONFIGURED_MESSAGE, 503)
    try:
        chat_services.count_tutor_call(learner=learner)
    except chat_services.RateLimited as refusal:
        return _refuse(refusal.message, 429, **{"Retry-After": str(refusal.retry_after)})
    try:
        text = client.transcribe(
            audio, filename=f"answer.{EXTENSIONS.get(content_type, 'webm')}", content_type=content_type
        )
    except client.SpeechError as error:
        return _refuse(error.message, 504 if error.message == client.TIMED_OUT_MESSAGE else error.status)
    finally:
        del audio
    if not text:
        return _refuse("No speech was heard in the recording. Speak closer to the microphone and try again.", 422)
    return JsonResponse({"text": text})
