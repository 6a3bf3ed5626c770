"""A `## Test:` without `id::` (body `derived_id`): shown to learners with a note, and nothing is stored
under the UUID derived from its place (it changes once `sync_content --write-ids` gives the test one)."""

import pytest
from django.urls import reverse

from chat.models import AnswerDraft, ChatMessage, ChatSession, QuestionAnswer
from content_loader.models import ModuleEntry
from content_loader.tests.factories import AssessmentFactory, ModuleFactory, make_course
from learn.tests.factories import body_of, chat_segment, question_segment, roleplay_segment, text_segment
from progress.models import UserContentProgress
from roleplay.models import RoleplayAttempt

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
WHY = "Why does spacing help?"
ROLEPLAY_ID = "5b0f3f55-8a7e-4c59-9d2b-0e7b3c8f1a11"


@pytest.fixture
def learner(client):
    client.get("/")
    return client


@pytest.fixture
def test_without_id():
    body = {
        **body_of(
            text_segment(0, "Before you start."),
            question_segment(1, WHY, feedback=True),
            chat_segment(2),
            roleplay_segment(3, roleplay_id=ROLEPLAY_ID),
        ),
        "derived_id": True,
    }
    test = AssessmentFactory(title="Check yourself", body=body)
    module = ModuleFactory(slug="practice", title="Practice")
    ModuleEntry.objects.create(module=module, position=0, item=test)
    make_course(units=[[module]], slug="c")
    return test


def test_a_test_without_id_is_shown_with_a_note_and_no_submit_button(learner, test_without_id):
    """The learner reads the test and its questions, with a note naming `--write-ids`, no "Submit test"
    and no heartbeat (the page's activity tracking is off)."""
    url = reverse("learn:lens", kwargs={"course_slug": "c", "module_slug": "practice", "lens_id": test_without_id.pk})
    response = learner.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Before you start." in html and WHY in html
    assert "sync_content --write-ids" in html and "<strong>Not saved</strong>" in html
    assert "Submit test" not in html and "data-activity" not in html


def test_nothing_is_stored_under_a_derived_test_id(learner, test_without_id):
    """Answering, a draft, feedback, submitting, chatting, a roleplay and completing through the API are each refused
    with a message naming `--write-ids` (never a 500), and no row is written under the derived UUID."""
    key = question_segment(1, WHY)["key"]
    placed = {"course_slug": "c", "module_slug": "practice", "lens_id": test_without_id.pk}
    chat = {"lens_id": test_without_id.pk, "segment_index": 2}
    roleplay = {"item_id": test_without_id.pk, "roleplay_id": ROLEPLAY_ID}
    posts = [
        (reverse("learn:answer", kwargs={**placed, "question_key": key}), {"text": "Because."}),
        (reverse("learn:answer", kwargs={**placed, "question_key": key}), {"text": "Bec", "draft": "1"}),
        (reverse("chat:send", kwargs=chat), {"text": "Hello"}),
        (reverse("chat:reply", kwargs=chat), {}),
        (reverse("chat:new", kwargs=chat), {}),
        *(
            (reverse(f"roleplay:{name}", kwargs=roleplay), {"text": "Hello Sam"})
            for name in ("send", "reply", "finish", "restart", "feedback")
        ),
    ]
    for url, data in posts:
        response = learner.post(url, data, headers=HTMX)
        assert response.status_code == 409, (url, response.status_code)
        assert "--write-ids" in response.content.decode(), url
    submitted = learner.post(reverse("learn:submit-test", kwargs=placed), {f"answer-{key}": "Because."}, headers=HTMX)
    assert submitted.status_code == 200 and "--write-ids" in submitted.content.decode()
    api = learner.post(
        reverse("progress:complete"),
        {"content_id": str(test_without_id.pk), "content_type": "test"},
        content_type="application/json",
    )
    assert api.status_code in (400, 409, 422) and "--write-ids" in api.content.decode()
    assert not QuestionAnswer.objects.exists() and not AnswerDraft.objects.exists()
    assert not ChatSession.objects.exists() and not ChatMessage.objects.exists()
    assert not UserContentProgress.objects.exists() and not RoleplayAttempt.objects.exists()
