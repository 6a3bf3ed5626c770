"""`POST /voice/transcribe`: a recording from the answer box's record button (static/js/voice.js) back as text.

The recording is read into memory only (never a temporary file: `InMemoryAudio` replaces Django's upload
handlers before the body is parsed, which is why CSRF is checked inside, after that swap), sent to the
speech server, and dropped when the response is sent. Answers are JSON: `{"text": ...}`, or
`{"error": message}` with a status (400, 403, 413, 429, 502, 503, 504) the learner can act on.
"""

from django.conf import settings
from django.core.files.uploadhandler import MemoryFileUploadHandler
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from chat import services as chat_services
from chat.panels import learner_of
from voice import client

# Room for the multipart framing and the other fields around the recording.
FORM_OVERHEAD_BYTES = 16_384


class InMemoryAudio(MemoryFileUploadHandler):
    """Keep an upload in memory whatever its size (the view has bounded the body by SPEECH_MAX_BYTES)."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.activated = True


def _refuse(message: str, status: int, **headers) -> JsonResponse:
    return JsonResponse({"error": message}, status=status, headers=headers)


def _limit_text(limit: int) -> str:
    return f"{limit / 1_000_000:.1f} MB" if limit >= 100_000 else f"{limit:,} bytes"


@csrf_exempt  # checked by `_transcribe` once the upload handlers are in place
@require_POST
def transcribe(request: HttpRequest) -> JsonResponse:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0:
        return _refuse("No recording arrived. Record your answer again.", 400)
    if length > settings.SPEECH_MAX_BYTES + FORM_OVERHEAD_BYTES:
        return _refuse(
            f"The recording is too large (at most {_limit_text(settings.SPEECH_MAX_BYTES)}): record a shorter answer.",
            413,
        )
    request.upload_handlers = [InMemoryAudio(request)]
    return _transcribe(request)


@csrf_protect
def _transcribe(request: HttpRequest) -> JsonResponse:
    """The recording (`audio` file, `seconds` it lasted) as text, counted like a model call."""
    user_id, session_token = learner_of(request)
    if user_id is None and session_token is None:
        return _refuse("We could not tell who you are. Reload the page (cookies must be allowed) or log in.", 403)
    audio = request.FILES.get("audio")
    if audio is None or not audio.size:
        return _refuse("No recording arrived. Record your answer again.", 400)
    if audio.size > settings.SPEECH_MAX_BYTES:
        return _refuse(
            f"The recording is too large (at most {_limit_text(settings.SPEECH_MAX_BYTES)}): record a shorter answer.",
            413,
        )
    try:
        seconds = float(request.POST.get("seconds", "0"))
    except ValueError:
        return _refuse("The recording's length was not a number. Record your answer again.", 400)
    if seconds > settings.SPEECH_MAX_SECONDS + 1:  # a second's slack for the recorder stopping late
        return _refuse(
            f"The recording is {seconds:.0f} seconds long; at most {settings.SPEECH_MAX_SECONDS} seconds are "
            "allowed. Record a shorter answer.",
            413,
        )
    content_type = (audio.content_type or "audio/webm").split(";")[0]
    if not content_type.startswith("audio/"):
        return _refuse("That upload is not a sound recording. Record your answer again.", 400)
    if not client.can_transcribe():
        return _refuse(client.NOT_CONFIGURED_MESSAGE, 503)
    try:
        chat_services.count_tutor_call(user_id=user_id, session_token=session_token)
    except chat_services.RateLimited as refusal:
        return _refuse(refusal.message, 429, **{"Retry-After": str(refusal.retry_after)})
    data = audio.read()
    audio.close()
    try:
        text = client.transcribe(data, filename=audio.name or "answer.webm", content_type=content_type)
    except client.SpeechError as error:
        return _refuse(error.message, 504 if error.message == client.TIMED_OUT_MESSAGE else error.status)
    finally:
        del data
    if not text:
        return _refuse("No speech was heard in the recording. Speak closer to the microphone and try again.", 422)
    return JsonResponse({"text": text})
