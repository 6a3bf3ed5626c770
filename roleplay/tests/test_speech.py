"""Spoken roleplays against the fake model server: the line box's record button, and the character's lines
read aloud through audio/speech (only the learner's own, complete character lines; counted; off without
SPEECH_VOICE)."""

import pytest
from django.test import Client

from chat.tests.fake_tutor import Fail, Stream
from roleplay.models import RoleplayMessage
from roleplay.tests import test_conversation as conversation
from roleplay.tests.test_conversation import OPENING, page, rp_url, say

course = conversation.course  # the same fixtures: a lens with a roleplay, a learner with a session
learner = conversation.learner

pytestmark = pytest.mark.django_db(transaction=True)  # the speech server is never called in a transaction


@pytest.fixture
def voiced(settings, tutor_server):
    settings.SPEECH_VOICE = "alloy"
    return tutor_server


def character_line(learner, course, server, text="Fine, show me.") -> RoleplayMessage:
    server.script.append(Stream([text]))
    say(learner, course, "Spread it over two weeks.")
    return RoleplayMessage.objects.get(role="assistant", text=text)


def test_the_line_box_has_the_record_button_attributes_when_transcription_is_configured(learner, course, voiced):
    html = page(learner, course)
    assert 'data-voice-input data-voice-url="/voice/transcribe" data-voice-max-seconds="120"' in html


def test_without_a_transcription_model_the_line_box_has_no_record_button(learner, course, tutor_server, settings):
    settings.SPEECH_MODEL = ""
    html = page(learner, course)
    assert 'name="text"' in html and "data-voice-input" not in html and "data-voice-url" not in html


def test_a_character_line_is_read_aloud_for_its_learner(learner, course, voiced):
    line = character_line(learner, course, voiced)
    html = page(learner, course)
    url = rp_url("speech", course, message_id=line.pk)
    assert f'data-speech-url="{url}"' in html
    opening = RoleplayMessage.objects.get(role="assistant", text=OPENING)
    assert html.count("data-speech-url=") == 2  # the saved opening line and the reply; never the learner's

    response = learner.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "audio/mpeg"
    assert {"private", "no-store"} <= set(response["Cache-Control"].split(", "))
    assert response.content == b"ID3FAKE-MP3:Fine, show me."
    assert voiced.speech_requests[-1] == {
        "model": "tts-1",
        "voice": "alloy",
        "input": "Fine, show me.",
        "response_format": "mp3",
    }
    assert learner.get(rp_url("speech", course, message_id=opening.pk)).status_code == 200


def test_only_the_learners_own_complete_character_lines_are_read(learner, course, voiced):
    line = character_line(learner, course, voiced)
    mine = RoleplayMessage.objects.get(role="user")
    other = Client()
    other.get("/")
    assert other.get(rp_url("speech", course, message_id=line.pk)).status_code == 404
    assert learner.get(rp_url("speech", course, message_id=mine.pk)).status_code == 404
    assert learner.get(rp_url("speech", course, message_id=line.pk + 1000)).status_code == 404
    RoleplayMessage.objects.filter(pk=line.pk).update(state="generating")
    assert learner.get(rp_url("speech", course, message_id=line.pk)).status_code == 404
    RoleplayMessage.objects.filter(pk=line.pk).update(state="interrupted")
    assert learner.get(rp_url("speech", course, message_id=line.pk)).status_code == 404
    assert len(voiced.speech_requests) == 0


def test_without_a_voice_there_is_no_play_button_and_the_url_is_404(learner, course, tutor_server, settings):
    settings.SPEECH_VOICE = ""
    line = character_line(learner, course, tutor_server)
    assert "data-speech-url" not in page(learner, course)
    response = learner.get(rp_url("speech", course, message_id=line.pk))
    assert response.status_code == 404 and not tutor_server.speech_requests


def test_reading_aloud_is_rate_limited_like_other_model_calls(learner, course, voiced, settings):
    line = character_line(learner, course, voiced)
    settings.CHAT_RATE_LIMIT_MESSAGES = 2  # the reply took one call
    assert learner.get(rp_url("speech", course, message_id=line.pk)).status_code == 200
    limited = learner.get(rp_url("speech", course, message_id=line.pk))
    assert limited.status_code == 429 and limited.has_header("Retry-After")
    assert "asked the tutor 2 times" in limited.json()["error"]
    assert len(voiced.speech_requests) == 1


def test_a_speech_server_failure_is_a_short_message(learner, course, voiced):
    line = character_line(learner, course, voiced)
    voiced.speeches.append(Fail(500))
    response = learner.get(rp_url("speech", course, message_id=line.pk))
    assert response.status_code == 502 and response.json() == {"error": "The reply could not be read aloud."}


def test_a_head_request_makes_no_speech_call_and_counts_nothing(learner, course, voiced):
    """HEAD says whether a line can be heard; only GET asks the speech server (a paid, counted call)."""
    from ops.models import RateLimitHit

    line = character_line(learner, course, voiced)
    calls, hits = len(voiced.speech_requests), RateLimitHit.objects.count()
    response = learner.head(rp_url("speech", course, message_id=line.pk))
    assert response.status_code == 200 and response["Content-Type"] == "audio/mpeg"
    assert len(voiced.speech_requests) == calls and RateLimitHit.objects.count() == hits
    assert learner.head(rp_url("speech", course, message_id=line.pk + 1000)).status_code == 404
