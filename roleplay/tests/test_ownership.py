"""Roleplay attempts as the learner's data: claimed at login, required before a test is submitted, in the
learner's export and erasure, and readable by staff in admin."""

import uuid
from types import SimpleNamespace

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from content_loader.models import ModuleEntry
from content_loader.tests.factories import AssessmentFactory, ModuleFactory, make_course
from learn.tests.factories import body_of, question_segment, roleplay_segment
from learners import Learner
from progress.models import UserContentProgress
from progress.services import InvalidProgress, claim_progress, complete_content
from progress.tooling.learner_data import erase_learner_data, export_learner_data, learner_data_counts
from roleplay.models import RoleplayAttempt, RoleplayMessage
from roleplay.services import claim_roleplay_attempts, finish_attempt
from roleplay.tests.factories import RoleplayAttemptFactory, RoleplayMessageFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
WHY = "Why does recall beat rereading?"


def test_claim_moves_attempts_and_archives_a_clash_keeping_both():
    """Every attempt of the token moves to the account; one clashing with the account's active attempt at
    the same roleplay is archived (under "Past attempts"), never dropped."""
    user = UserFactory()
    token = uuid.uuid4()
    roleplay_id = uuid.uuid4()
    mine = RoleplayAttemptFactory(session_token=None, user=user, roleplay_id=roleplay_id)
    clash = RoleplayAttemptFactory(session_token=token, roleplay_id=roleplay_id)
    RoleplayMessageFactory(attempt=clash, text="keep me")
    other = RoleplayAttemptFactory(session_token=token)
    someone_else = RoleplayAttemptFactory()

    assert claim_roleplay_attempts(session_token=token, user_id=user.pk) == 2

    for row in (mine, clash, other, someone_else):
        row.refresh_from_db()
    assert clash.user_id == user.pk and clash.archived_at is not None and clash.messages.get().text == "keep me"
    assert mine.archived_at is None and other.user_id == user.pk and other.archived_at is None
    assert someone_else.user_id is None


def test_logging_in_claims_the_roleplay_and_the_receipt_says_so(client):
    """The login signal claims the anonymous learner's roleplay: the account sees the same conversation."""
    user = UserFactory(username="ada")
    token = uuid.uuid4()
    attempt = RoleplayAttemptFactory(session_token=token)
    RoleplayMessageFactory(attempt=attempt, text="Before logging in.")
    client.cookies["learner_token"] = str(token)

    response = client.post("/accounts/login/", {"username": "ada", "password": "correct horse battery staple"})

    assert response.status_code == 302
    attempt.refresh_from_db()
    assert (attempt.user_id, attempt.session_token) == (user.pk, None)
    receipt = claim_progress(user=user, session_token=uuid.uuid4())
    assert receipt.roleplays_claimed == 0
    assert "1 roleplay conversation" in claim_progress_summary(user)


def claim_progress_summary(user) -> str:
    token = uuid.uuid4()
    RoleplayAttemptFactory(session_token=token)
    return claim_progress(user=user, session_token=token).summary()


@pytest.fixture
def test_page(client):
    """Module `practice` with a test: a question and a required roleplay; the learner has answered the question."""
    module = ModuleFactory(slug="practice", title="Practice")
    segment = roleplay_segment(1, "Persuade Sam.")
    test = AssessmentFactory(title="Check", body=body_of(question_segment(0, WHY), segment))
    ModuleEntry.objects.create(module=module, position=0, item=test)
    make_course(units=[[module]], slug="c")
    client.get("/")
    kwargs = {"course_slug": "c", "module_slug": "practice", "lens_id": test.pk}
    key = question_segment(0, WHY)["key"]
    client.post(reverse("learn:answer", kwargs={**kwargs, "question_key": key}), {"text": "Effort."})
    return SimpleNamespace(
        test=test, roleplay_id=uuid.UUID(segment["id"]), submit=reverse("learn:submit-test", kwargs=kwargs)
    )


def test_a_test_cannot_be_submitted_until_its_roleplay_is_finished(client, test_page):
    """Like an unanswered required question: the submission is refused naming the roleplay; once the
    conversation is finished, it goes through."""
    response = client.post(test_page.submit, headers=HTMX)

    message = response.content.decode()
    assert "Finish every roleplay" in message and "Not finished yet: roleplay 1 (“Persuade Sam.”)" in message
    assert not UserContentProgress.objects.filter(content_id=test_page.test.pk, completed_at__isnull=False).exists()

    learner = client.get("/").wsgi_request.learner
    attempt = RoleplayAttemptFactory(
        session_token=learner.session_token, roleplay_id=test_page.roleplay_id, content_id=test_page.test.pk
    )
    RoleplayMessageFactory(attempt=attempt)
    finish_attempt(learner=Learner(session_token=learner.session_token), roleplay_id=test_page.roleplay_id)

    response = client.post(test_page.submit, headers=HTMX)

    assert response.status_code == 200 and "Finish every roleplay" not in response.content.decode()
    assert UserContentProgress.objects.get(content_id=test_page.test.pk).completed_at is not None


def test_completing_a_test_through_progress_also_requires_the_roleplay():
    """The progress write path (the API's completion) holds the same rule."""
    test = AssessmentFactory(body=body_of(roleplay_segment(0, "Persuade Sam.")))
    with pytest.raises(InvalidProgress, match="Finish every roleplay of this test"):
        complete_content(learner=Learner(session_token=uuid.uuid4()), content_id=test.pk, content_type="test")


def test_an_optional_roleplay_does_not_block_the_test():
    """`optional:: true` roleplays are not required."""
    test = AssessmentFactory(body=body_of(roleplay_segment(0, "Persuade Sam.", optional=True)))
    result = complete_content(learner=Learner(session_token=uuid.uuid4()), content_id=test.pk, content_type="test")
    assert result.newly_completed


def test_export_and_erase_cover_roleplays():
    """The export holds each attempt with its messages; erasing removes them, other learners' stay."""
    user = UserFactory()
    attempt = RoleplayAttemptFactory(session_token=None, user=user, scenario="Persuade Sam.")
    RoleplayMessageFactory(attempt=attempt, text="My line.")
    kept = RoleplayAttemptFactory()

    document = export_learner_data(learner=Learner(user_id=user.pk))

    [exported] = document["roleplay_attempts"]
    assert exported["scenario"] == "Persuade Sam." and exported["stored_under"] == "account"
    assert [m["text"] for m in exported["messages"]] == ["My line."]
    counts = learner_data_counts(learner=Learner(user_id=user.pk))
    assert (counts["roleplay_attempts"], counts["roleplay_messages"], counts["roleplay_feedback"]) == (1, 1, 0)

    erase_learner_data(learner=Learner(user_id=user.pk))

    assert list(RoleplayAttempt.objects.all()) == [kept]
    assert not RoleplayMessage.objects.exists()


def test_staff_read_attempts_in_admin_with_filters(client):
    """The admin lists attempts (filterable by state and learner) and shows a transcript read-only."""
    staff = UserFactory(is_staff=True, is_superuser=True)
    attempt = RoleplayAttemptFactory()
    RoleplayMessageFactory(attempt=attempt, text="Visible to staff.")
    client.force_login(staff)

    listing = client.get("/admin/roleplay/roleplayattempt/?state=open&learner=anonymous")
    detail = client.get(f"/admin/roleplay/roleplayattempt/{attempt.pk}/change/")

    assert listing.status_code == 200 and f"anonymous {str(attempt.session_token)[:8]}" in listing.content.decode()
    assert detail.status_code == 200 and "Visible to staff." in detail.content.decode()
    assert client.get("/admin/roleplay/roleplayattempt/add/").status_code == 403
