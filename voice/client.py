"""Speech to text and text to speech through an OpenAI-compatible server (`audio/transcriptions`,
`audio/speech`), with the `openai` package.

SPEECH_BASE_URL / SPEECH_API_KEY fall back to the tutor's (TUTOR_BASE_URL / TUTOR_API_KEY); SPEECH_MODEL
transcribes, SPEECH_TTS_MODEL with SPEECH_VOICE speaks (empty SPEECH_VOICE: speaking is off). Audio is
passed in memory and never written anywhere. Never called inside a database transaction.
"""

from functools import lru_cache

import openai
from django.conf import settings
from django.db import connection

NOT_CONFIGURED_MESSAGE = "Spoken answers are not available on this server: type your answer instead."
FAILED_MESSAGE = "The recording could not be turned into text. Try again, or type your answer."
TIMED_OUT_MESSAGE = "Turning the recording into text took too long. Try again with a shorter recording."


class SpeechError(Exception):
    """The speech server could not do it; `message` says so to the learner, `status` is the HTTP answer."""

    status = 502

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class SpeechNotConfigured(SpeechError):
    status = 503


def base_url() -> str:
    return settings.SPEECH_BASE_URL or settings.TUTOR_BASE_URL


def can_transcribe() -> bool:
    """Whether a transcription server is configured (a base URL and a model)."""
    return bool(base_url() and settings.SPEECH_MODEL)


def can_speak() -> bool:
    """Whether spoken replies are on (a base URL, a voice and a speech model)."""
    return bool(base_url() and settings.SPEECH_VOICE and settings.SPEECH_TTS_MODEL)


@lru_cache(maxsize=4)
def _client(url: str, api_key: str, timeout: int) -> openai.OpenAI:
    # No retries: the learner waits for the answer and can record again; local servers need no key.
    return openai.OpenAI(base_url=url, api_key=api_key or "not-needed", timeout=timeout, max_retries=0)


def _connect() -> openai.OpenAI:
    if connection.in_atomic_block:
        raise RuntimeError("The speech server must not be called inside a database transaction.")
    return _client(base_url(), settings.SPEECH_API_KEY or settings.TUTOR_API_KEY, settings.SPEECH_TIMEOUT_SECONDS)


def transcribe(audio: bytes, *, filename: str = "answer.webm", content_type: str = "audio/webm") -> str:
    """The text spoken in `audio` (a recording the browser made), stripped; SpeechError when it fails."""
    if not can_transcribe():
        raise SpeechNotConfigured(NOT_CONFIGURED_MESSAGE)
    try:
        result = _connect().audio.transcriptions.create(
            model=settings.SPEECH_MODEL, file=(filename, audio, content_type), response_format="json"
        )
    except openai.APITimeoutError:
        raise SpeechError(TIMED_OUT_MESSAGE) from None
    except openai.OpenAIError:
        raise SpeechError(FAILED_MESSAGE) from None
    return (result.text or "").strip()


def speak(text: str) -> bytes:
    """`text` read aloud (MP3 bytes) in SPEECH_VOICE; SpeechNotConfigured when speaking is off."""
    if not can_speak():
        raise SpeechNotConfigured("Spoken replies are off on this server (SPEECH_VOICE is empty).")
    try:
        response = _connect().audio.speech.create(
            model=settings.SPEECH_TTS_MODEL, voice=settings.SPEECH_VOICE, input=text, response_format="mp3"
        )
    except openai.APITimeoutError:
        raise SpeechError("Reading the reply aloud took too long.") from None
    except openai.OpenAIError:
        raise SpeechError("The reply could not be read aloud.") from None
    return response.content
