"""Answer drafts: what a learner types is kept apart from the saved answer, restored on return, never an answer.

The pages post the answer form with `draft=1` (chat.js, after typing and on leaving the page), here the
lens's standalone page; its answers are locked once the lens is completed there.
"""

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import UserFactory
from chat import services
from chat.models import AnswerDraft, QuestionAnswer
from chat.questions import current_answers, unanswered_questions
from chat.tests.factories import QUESTION_KEY, chat_lens_body, shared_question
from content_loader.tests.factories import LensFactory
from learn.links import standalone_lens_url
from learners import Learner

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def lens(db):
    return LensFactory(title="Corrigibility", body=chat_lens_body())


@pytest.fixture
def learner(db):
    return UserFactory()


def browser(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def answer_url(lens) -> str:
    return reverse("learn:standalone-answer", kwargs={"lens_id": lens.pk, "question_key": QUESTION_KEY})


def page(client, lens) -> str:
    return client.get(standalone_lens_url(lens.pk, lens.title)).content.decode()


def test_a_draft_is_saved_apart_from_the_answer_and_restored_on_another_device(lens, learner):
    """Typing saves a draft (204), the saved answer is untouched, and another browser of the same account
    finds the draft in the box with "Draft saved"."""
    laptop, phone = browser(learner), browser(learner)
    laptop.post(answer_url(lens), {"text": "My saved answer"})

    response = laptop.post(answer_url(lens), {"text": "My saved answer, and more I am typing", "draft": "1"}, **HTMX)

    assert response.status_code == 204
    assert QuestionAnswer.objects.get().text == "My saved answer"
    on_the_phone = page(phone, lens)
    assert ">My saved answer, and more I am typing</textarea>" in on_the_phone
    assert "Draft saved" in on_the_phone and "not your answer yet" in on_the_phone


def test_a_beacon_of_the_form_as_it_is_saves_the_draft(lens):
    """The pagehide beacon sends the answer form as multipart with its CSRF field: the draft is saved."""
    client = Client(enforce_csrf_checks=True)
    page(client, lens)  # the learner cookie and the CSRF cookie
    token = client.cookies["csrftoken"].value
    body = {"text": "Typed just before leaving", "draft": "1", "csrfmiddlewaretoken": token, "next": "/"}

    response = client.post(answer_url(lens), body)  # multipart, as sendBeacon sends a FormData

    assert response.status_code == 204
    assert AnswerDraft.objects.get().text == "Typed just before leaving"
    assert ">Typed just before leaving</textarea>" in page(client, lens)


def test_saving_the_answer_ends_the_draft(lens, learner):
    """ "Save answer" makes the typed text the answer; the draft is gone and the box shows the answer."""
    client = browser(learner)
    client.post(answer_url(lens), {"text": "Half typed", "draft": "1"})
    client.post(answer_url(lens), {"text": "Finished answer"})
    assert not AnswerDraft.objects.exists()
    html = page(client, lens)
    assert ">Finished answer</textarea>" in html and "Draft saved" not in html


def test_a_late_draft_equal_to_the_saved_answer_is_no_draft(lens, learner):
    """A debounced draft arriving after "Save answer" with the same text does not come back as a draft."""
    client = browser(learner)
    client.post(answer_url(lens), {"text": "Final"})
    assert client.post(answer_url(lens), {"text": "Final", "draft": "1"}).status_code == 204
    assert not AnswerDraft.objects.exists()


def test_a_draft_never_counts_as_an_answer():
    """A test's question with only a draft is still unanswered: a draft completes nothing."""
    test = LensFactory(content_type="test", body=chat_lens_body())
    token = uuid.uuid4()
    question = next(s for s in test.body["segments"] if s["type"] == "question")
    services.save_draft(
        learner=Learner(session_token=token),
        content_id=test.pk,
        content_type="test",
        question=question,
        text="Only a draft",
        locked=False,
    )
    answers = current_answers(learner=Learner(session_token=token), item=test)
    assert answers == {}
    assert [missing.key for missing in unanswered_questions(test, answers)] == [question["key"]]


def test_a_draft_is_bounded_like_an_answer_and_refused_clearly(learner, settings):
    """Over the site's ANSWER_MAX_CHARS (the question has no max-chars): 400 with both numbers, nothing stored."""
    settings.ANSWER_MAX_CHARS = 10
    body = chat_lens_body()
    body["segments"][2] = shared_question(index=2, max_chars=None)
    lens = LensFactory(body=body)
    response = browser(learner).post(answer_url(lens), {"text": "x" * 11, "draft": "1"}, **HTMX)
    assert response.status_code == 400
    assert "11 characters" in response.content.decode() and "allows 10" in response.content.decode()
    assert not AnswerDraft.objects.exists()


def test_a_draft_with_a_nul_is_refused(lens, learner):
    """PostgreSQL stores no NUL: a clear 400, nothing stored."""
    response = browser(learner).post(answer_url(lens), {"text": "a\x00b", "draft": "1"}, **HTMX)
    assert response.status_code == 400 and "NUL" in response.content.decode()
    assert not AnswerDraft.objects.exists()


def test_a_completed_lens_takes_no_draft(lens, learner):
    """Once the lens is completed its answers are final: a draft is refused with 409."""
    client = browser(learner)
    client.post(reverse("learn:standalone-complete", args=[lens.pk]))
    response = client.post(answer_url(lens), {"text": "Too late", "draft": "1"}, **HTMX)
    assert response.status_code == 409 and "can no longer be changed" in response.content.decode()
    assert not AnswerDraft.objects.exists()


def test_the_page_without_javascript_keeps_the_save_button(lens, learner):
    """The box is a plain form with "Save answer"; drafts are only an addition for pages with the script."""
    html = page(browser(learner), lens)
    assert "Save answer</button>" in html and "data-question-draft" in html
