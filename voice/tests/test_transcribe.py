"""Spoken answers: `POST /voice/transcribe` against the fake model server (real HTTP), its limits, and that
no audio is kept; `voice.client.speak` against the fake server's audio/speech endpoint."""

import os
import tempfile

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import UserFactory
from chat.tests.fake_tutor import Fail, Transcript
from voice import client as speech

pytestmark = pytest.mark.django_db(transaction=True)  # the speech server is never called in a transaction

AUDIO = b"\x1aE\xdf\xa3fake-webm-recording" * 50


@pytest.fixture
def learner_client(db):
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory())
    client.get("/")  # the CSRF cookie
    return client


def post(client, audio=AUDIO, seconds="4.2", content_type="audio/webm;codecs=opus", **extra):
    """As voice.js posts: the recording as the body, its length in `?seconds=`, the CSRF token in a header."""
    token = client.cookies["csrftoken"].value if "csrftoken" in client.cookies else ""
    url = reverse("voice:transcribe") + f"?seconds={seconds}"
    return client.post(url, audio or b"", content_type=content_type, HTTP_X_CSRFTOKEN=token, **extra)


def test_a_recording_comes_back_as_its_transcript(learner_client, tutor_server, settings):
    tutor_server.transcripts.append(Transcript("Because it cannot fetch the coffee if it is off."))

    response = post(learner_client)

    assert response.status_code == 200, response.content
    assert response.json() == {"text": "Because it cannot fetch the coffee if it is off."}
    (sent,) = tutor_server.transcription_requests
    assert sent["model"] == "whisper-1"  # SPEECH_MODEL's default; the tutor's server (SPEECH_BASE_URL empty)
    assert sent["file"]["data"] == AUDIO and sent["file"]["content_type"] == "audio/webm"
    assert sent["file"]["filename"] == "answer.webm"


def test_a_separate_speech_server_is_used_when_set(learner_client, tutor_server, settings):
    settings.TUTOR_BASE_URL = "http://127.0.0.1:9/v1"  # nothing listens there
    settings.SPEECH_BASE_URL = tutor_server.base_url
    settings.SPEECH_MODEL = "my-whisper"
    assert post(learner_client).status_code == 200
    assert tutor_server.transcription_requests[0]["model"] == "my-whisper"


def test_no_audio_is_kept_in_the_database_or_on_disk(learner_client, tutor_server, settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 10  # an upload parsed by Django would spill to a temporary file
    before = set(os.listdir(tempfile.gettempdir()))
    row_counts = {model: model.objects.count() for model in apps.get_models()}

    assert post(learner_client).status_code == 200

    assert set(os.listdir(tempfile.gettempdir())) - before == set()
    changed = [m.__name__ for m in apps.get_models() if m.objects.count() != row_counts[m]]
    assert all(name in {"RateLimitBucket", "Session"} or "ratelimit" in name.lower() for name in changed), changed
    with connection.cursor() as cursor:
        for model in apps.get_models():
            for field in model._meta.get_fields():
                if getattr(field, "get_internal_type", lambda: "")() == "BinaryField":
                    cursor.execute(f'SELECT count(*) FROM "{model._meta.db_table}" WHERE "{field.column}" IS NOT NULL')
                    assert cursor.fetchone()[0] == 0


def test_too_large_a_recording_is_refused_with_413(learner_client, tutor_server, settings):
    settings.SPEECH_MAX_BYTES = 500
    response = post(learner_client, audio=b"x" * 600)
    assert response.status_code == 413
    assert "too large" in response.json()["error"]
    assert tutor_server.transcription_requests == []


def test_too_long_a_recording_is_refused_with_413(learner_client, tutor_server, settings):
    settings.SPEECH_MAX_SECONDS = 30
    response = post(learner_client, seconds="45")
    assert response.status_code == 413
    assert "at most 30 seconds" in response.json()["error"]
    assert tutor_server.transcription_requests == []


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"audio": None}, "No recording arrived"),
        ({"seconds": "long"}, "not a number"),
        ({"content_type": "text/plain"}, "not a sound recording"),
    ],
)
def test_bad_uploads_are_refused_with_400(learner_client, tutor_server, kwargs, words):
    response = post(learner_client, **kwargs)
    assert response.status_code == 400
    assert words in response.json()["error"]


def test_csrf_is_checked(tutor_server):
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory())
    response = client.post(reverse("voice:transcribe"), AUDIO, content_type="audio/webm")
    assert response.status_code == 403
    assert tutor_server.transcription_requests == []


def test_it_counts_as_a_model_call(learner_client, tutor_server, settings):
    settings.CHAT_RATE_LIMIT_MESSAGES = 1
    assert post(learner_client).status_code == 200
    refused = post(learner_client)
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    assert "asked the tutor 1 times" in refused.json()["error"]
    assert len(tutor_server.transcription_requests) == 1


def test_a_failing_speech_server_says_so(learner_client, tutor_server):
    tutor_server.transcripts.append(Fail(500))
    response = post(learner_client)
    assert response.status_code == 502
    assert "could not be turned into text" in response.json()["error"]


def test_silence_is_reported(learner_client, tutor_server):
    tutor_server.transcripts.append(Transcript("  "))
    response = post(learner_client)
    assert response.status_code == 422 and "No speech was heard" in response.json()["error"]


def test_without_a_speech_server_it_says_to_type(learner_client, no_tutor):
    response = post(learner_client)
    assert response.status_code == 503
    assert "type your answer" in response.json()["error"]


def test_speak_reads_text_aloud_through_the_fake_server(tutor_server, settings):
    settings.SPEECH_VOICE = "alloy"
    audio = speech.speak("Hello, learner.")
    assert audio == b"ID3FAKE-MP3:Hello, learner."
    (sent,) = tutor_server.speech_requests
    assert sent["voice"] == "alloy" and sent["input"] == "Hello, learner." and sent["model"] == "tts-1"


def test_speak_is_off_without_a_voice(tutor_server, settings):
    settings.SPEECH_VOICE = ""
    assert not speech.can_speak()
    with pytest.raises(speech.SpeechNotConfigured):
        speech.speak("Hello")
    assert tutor_server.speech_requests == []


def test_transcribe_directly(tutor_server):
    tutor_server.transcripts.append(Transcript(" Spoken words. "))
    assert speech.transcribe(AUDIO) == "Spoken words."
