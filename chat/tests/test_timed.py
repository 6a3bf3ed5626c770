"""Timed questions (`max-time::`): "Start" records the start on the server, the countdown continues on
reload and on another device, and the server refuses saves after the deadline plus the grace."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from chat import services
from chat.models import AnswerDraft, AnswerStart, QuestionAnswer
from chat.templatetags.chat import clock, duration
from chat.tests.factories import QUESTION_KEY, shared_question
from content_loader.tests.factories import LensFactory
from learn.links import standalone_lens_url
from learners import Learner

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def lens(db):
    return LensFactory(title="Timed", body={"segments": [shared_question(index=0, max_time_seconds=300)]})


@pytest.fixture
def learner(db):
    return UserFactory()


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(name, lens) -> str:
    return reverse(f"learn:standalone-{name}", kwargs={"lens_id": lens.pk, "question_key": QUESTION_KEY})


def page(client, lens) -> str:
    return client.get(standalone_lens_url(lens.pk, lens.title)).content.decode()


def age_start(seconds: int) -> None:
    """Move the (one) start `seconds` into the past, as if the learner pressed "Start" that long ago."""
    AnswerStart.objects.update(started_at=timezone.now() - timedelta(seconds=seconds))


def test_the_box_opens_only_after_start_and_the_start_is_kept_for_other_devices(lens, learner):
    laptop, phone = logged_in(learner), logged_in(learner)
    before = page(laptop, lens)
    assert "data-question-start" in before and "<textarea" not in before
    assert "5 minutes" in before

    response = laptop.post(url("start", lens), **HTMX)

    assert response.status_code == 200
    assert 'data-seconds-left="' in response.content.decode() and "<textarea" in response.content.decode()
    first = AnswerStart.objects.get()
    laptop.post(url("start", lens), **HTMX)  # pressing again (another tab) does not restart the countdown
    assert AnswerStart.objects.get().started_at == first.started_at
    age_start(100)
    on_the_phone = page(phone, lens)
    assert 'data-seconds-left="200"' in on_the_phone or 'data-seconds-left="199"' in on_the_phone
    assert "data-question-start" not in on_the_phone


def test_a_save_before_start_is_refused(lens, learner):
    response = logged_in(learner).post(url("answer", lens), {"text": "Sneaky early answer"}, **HTMX)

    assert response.status_code == 409
    assert "press “Start”" in response.content.decode()
    assert not QuestionAnswer.objects.exists()


def test_saves_within_the_deadline_and_grace_are_kept_later_ones_refused(lens, learner, settings):
    settings.ANSWER_DEADLINE_GRACE_SECONDS = 15
    client = logged_in(learner)
    client.post(url("start", lens), **HTMX)

    age_start(300 + 10)  # the countdown ended 10 s ago: within the grace (the save sent at zero)
    assert client.post(url("answer", lens), {"text": "Saved at zero"}, **HTMX).status_code == 200

    age_start(300 + 16)  # past the grace
    late = client.post(url("answer", lens), {"text": "Changed afterwards"}, **HTMX)
    late_draft = client.post(url("answer", lens), {"text": "Typed afterwards", "draft": "1"}, **HTMX)

    assert late.status_code == 409 and late_draft.status_code == 409
    assert "Time is up" in late.content.decode()
    assert QuestionAnswer.objects.get().text == "Saved at zero"
    assert not AnswerDraft.objects.exists()
    box = page(client, lens)
    assert "Time is up" in box and "readonly" in box and "Save answer" not in box


def test_untimed_questions_need_no_start(learner):
    lens = LensFactory(body={"segments": [shared_question(index=0)]})
    assert logged_in(learner).post(url("answer", lens), {"text": "Any time"}, **HTMX).status_code == 200
    assert logged_in(learner).post(url("start", lens), **HTMX).status_code == 404


def test_logging_in_keeps_the_earlier_start(lens, learner):
    question = lens.body["segments"][0]
    token = __import__("uuid").uuid4()
    anonymous = services.start_answer(learner=Learner(session_token=token), content_id=lens.pk, question=question)
    AnswerStart.objects.filter(pk=anonymous.pk).update(started_at=timezone.now() - timedelta(seconds=200))
    services.start_answer(learner=Learner(user_id=learner.pk), content_id=lens.pk, question=question)

    services.claim_answer_starts(session_token=token, user_id=learner.pk)

    kept = AnswerStart.objects.get()
    assert kept.user_id == learner.pk and timezone.now() - kept.started_at >= timedelta(seconds=200)


def test_duration_reads_as_words():
    assert duration(300) == "5 minutes"
    assert duration(90) == "1 minute 30 seconds"
    assert duration(3) == "3 seconds"
    assert clock(75) == "1:15" and clock(3) == "0:03"
