"""Claiming an anonymous learner's progress when they log in: merged, never dropped."""

import uuid
from datetime import UTC, datetime

import pytest
from django.contrib.messages import get_messages

from accounts.tests.factories import UserFactory
from chat.models import AnswerDraft, ChatSession, QuestionAnswer
from chat.tests.factories import ChatSessionFactory, QuestionAnswerFactory
from content_loader.tests.factories import LensFactory, make_module
from learners import Learner
from progress.models import ClaimedToken, UserContentProgress
from progress.queries import module_progress
from progress.services import (
    ClaimReceipt,
    TokenClaimedElsewhere,
    claim_progress,
    complete_content,
    record_heartbeat,
)
from progress.signals import RECEIPT_TAG
from progress.tests.factories import ProgressFactory, account, lenses_of, let_time_pass

pytestmark = pytest.mark.django_db


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, tzinfo=UTC)


def test_claim_moves_anonymous_rows_to_the_account():
    """Claiming transfers the token's rows to the account (one row, now the user's)."""
    user = UserFactory()
    token = uuid.uuid4()
    content_id = uuid.uuid4()
    complete_content(learner=Learner(session_token=token), content_id=content_id, content_type="lens")
    receipt = claim_progress(user=user, session_token=token)
    assert receipt.progress_records_claimed == 1
    moved = UserContentProgress.objects.get(content_id=content_id)
    assert (moved.user_id, moved.session_token) == (user.pk, None)


def test_claim_merges_conflicting_rows_by_the_rules():
    """Earliest start, earliest completion with its time, summed total time, latest heartbeat; one row left."""
    user = UserFactory()
    token = uuid.uuid4()
    content_id = uuid.uuid4()
    ProgressFactory(
        user=user,
        session_token=None,
        content_id=content_id,
        started_at=at(5),
        completed_at=at(9),
        time_to_complete_s=500,
        total_time_spent_s=700,
        last_heartbeat_at=at(10),
    )
    ProgressFactory(
        session_token=token,
        content_id=content_id,
        started_at=at(3),
        completed_at=at(4),
        time_to_complete_s=200,
        total_time_spent_s=250,
        last_heartbeat_at=at(4, 1),
    )
    claim_progress(user=user, session_token=token)
    merged = UserContentProgress.objects.get(content_id=content_id)
    assert merged.user_id == user.pk
    assert (merged.started_at, merged.completed_at, merged.time_to_complete_s) == (at(3), at(4), 200)
    assert (merged.total_time_spent_s, merged.last_heartbeat_at) == (950, at(10))


def test_claim_keeps_the_accounts_earlier_completion():
    """When the account completed first, its completion time and time to complete stay."""
    user = UserFactory()
    token = uuid.uuid4()
    content_id = uuid.uuid4()
    ProgressFactory(user=user, session_token=None, content_id=content_id, completed_at=at(2), time_to_complete_s=50)
    ProgressFactory(session_token=token, content_id=content_id, completed_at=at(3), time_to_complete_s=70)
    claim_progress(user=user, session_token=token)
    merged = UserContentProgress.objects.get(content_id=content_id)
    assert (merged.completed_at, merged.time_to_complete_s) == (at(2), 50)


def test_claim_adds_time_when_neither_side_completed():
    """Two unfinished rows of the same lens add their time to complete and total time."""
    user = UserFactory()
    token = uuid.uuid4()
    content_id = uuid.uuid4()
    ProgressFactory(user=user, session_token=None, content_id=content_id, time_to_complete_s=40, total_time_spent_s=40)
    ProgressFactory(session_token=token, content_id=content_id, time_to_complete_s=25, total_time_spent_s=25)
    claim_progress(user=user, session_token=token)
    merged = UserContentProgress.objects.get(content_id=content_id)
    assert (merged.completed_at, merged.time_to_complete_s, merged.total_time_spent_s) == (None, 65, 65)


def test_claim_takes_the_anonymous_completion_when_the_account_had_none():
    """An anonymous completion wins over the account's unfinished row, with its own time to complete."""
    user = UserFactory()
    token = uuid.uuid4()
    content_id = uuid.uuid4()
    ProgressFactory(user=user, session_token=None, content_id=content_id, time_to_complete_s=40, total_time_spent_s=40)
    ProgressFactory(
        session_token=token, content_id=content_id, completed_at=at(1), time_to_complete_s=25, total_time_spent_s=30
    )
    claim_progress(user=user, session_token=token)
    merged = UserContentProgress.objects.get(content_id=content_id)
    assert (merged.completed_at, merged.time_to_complete_s, merged.total_time_spent_s) == (at(1), 25, 70)


def test_claim_moves_chats_in_the_same_call_and_reports_a_receipt():
    """Chats move too; the receipt counts rows, chats, completed lenses and seconds."""
    user = UserFactory()
    token = uuid.uuid4()
    learner = Learner(session_token=token)
    module = make_module(lenses=3)
    for lens in lenses_of(module)[:2]:
        record_heartbeat(learner=learner, content_id=lens.pk, time_delta_s=90)
        complete_content(learner=learner, content_id=lens.pk, content_type="lens")
        let_time_pass(learner, 90)
    record_heartbeat(learner=learner, content_id=lenses_of(module)[2].pk, time_delta_s=60)
    ChatSessionFactory(session_token=token)

    receipt = claim_progress(user=user, session_token=token)

    assert receipt == ClaimReceipt(progress_records_claimed=3, chat_sessions_claimed=1, lenses_completed=2, seconds=240)
    assert receipt.summary() == "Saved your progress: 2 lenses, 4 minutes, 1 tutor conversation"
    assert ChatSession.objects.get().user_id == user.pk
    assert not UserContentProgress.objects.filter(session_token=token).exists()
    progress = module_progress(learner=account(user), module=module)
    assert (progress.status, progress.completed, progress.total) == ("in_progress", 2, 3)


def test_claim_moves_question_answers_in_the_same_call():
    """Answers given anonymously move to the account with the progress, and the receipt counts them."""
    user = UserFactory()
    token = uuid.uuid4()
    ProgressFactory(session_token=token)
    QuestionAnswerFactory(session_token=token, text="my anonymous answer")
    QuestionAnswerFactory(text="someone else's")

    receipt = claim_progress(user=user, session_token=token)

    assert receipt.answers_claimed == 1
    assert receipt.summary().endswith(", 1 answer")
    assert QuestionAnswer.objects.get(text="my anonymous answer").user_id == user.pk
    assert QuestionAnswer.objects.get(text="someone else's").user_id is None


def test_claiming_twice_claims_nothing_the_second_time():
    """A second claim of the same token (a double login) finds nothing and doubles nothing."""
    user = UserFactory()
    token = uuid.uuid4()
    ProgressFactory(session_token=token, total_time_spent_s=30)
    assert claim_progress(user=user, session_token=token).progress_records_claimed == 1
    assert claim_progress(user=user, session_token=token).progress_records_claimed == 0
    assert UserContentProgress.objects.get().total_time_spent_s == 30


def test_rows_written_late_under_a_claimed_token_are_merged_by_the_next_claim():
    """A heartbeat arriving after the claim under the old token is kept and merged at the next login."""
    user = UserFactory()
    old_token = uuid.uuid4()
    lens = LensFactory()
    record_heartbeat(learner=Learner(session_token=old_token), content_id=lens.pk, time_delta_s=30)
    claim_progress(user=user, session_token=old_token)
    # A request that got past the claimed-token check just before the claim committed, writing just after.
    ProgressFactory(session_token=old_token, content_id=lens.pk, total_time_spent_s=20, time_to_complete_s=20)
    assert ClaimedToken.objects.get(token=old_token).user_id == user.pk

    claim_progress(user=user, session_token=uuid.uuid4())  # the next login, with a newer token
    assert UserContentProgress.objects.get(content_id=lens.pk).total_time_spent_s == 50
    assert UserContentProgress.objects.get(content_id=lens.pk).user_id == user.pk


def test_receipt_summary_wording():
    """Singular and plural, and less than a minute, read naturally."""
    assert ClaimReceipt(1, 0, 1, 60).summary() == "Saved your progress: 1 lens, 1 minute"
    assert ClaimReceipt(9, 0, 7, 42 * 60 + 10).summary() == "Saved your progress: 7 lenses, 42 minutes"
    assert ClaimReceipt(1, 0, 0, 20).summary() == "Saved your progress: 0 lenses, under a minute"


@pytest.mark.urls("progress.tests.urls")
def test_logging_in_claims_the_cookie_token_rotates_it_and_queues_the_receipt(client):
    """The login signal claims the browser's token, sets a fresh token cookie and queues the receipt message."""
    user = UserFactory(username="ada")
    token = uuid.uuid4()
    lens = LensFactory()
    record_heartbeat(learner=Learner(session_token=token), content_id=lens.pk, time_delta_s=120)
    complete_content(learner=Learner(session_token=token), content_id=lens.pk, content_type="lens")
    client.cookies["learner_token"] = str(token)

    response = client.post("/accounts/login/", {"username": "ada", "password": "correct horse battery staple"})

    assert response.status_code == 302
    assert UserContentProgress.objects.get(content_id=lens.pk).user_id == user.pk
    new_token = uuid.UUID(response.cookies["learner_token"].value)
    assert new_token != token
    receipts = [m for m in get_messages(response.wsgi_request) if RECEIPT_TAG in m.tags]
    assert [str(m) for m in receipts] == ["Saved your progress: 1 lens, 2 minutes"]


@pytest.mark.urls("progress.tests.urls")
def test_logging_in_without_anonymous_progress_shows_no_receipt(client):
    """Nothing claimed, nothing to announce."""
    UserFactory(username="bob")
    client.cookies["learner_token"] = str(uuid.uuid4())
    response = client.post("/accounts/login/", {"username": "bob", "password": "correct horse battery staple"})
    assert response.status_code == 302
    assert not [m for m in get_messages(response.wsgi_request) if RECEIPT_TAG in m.tags]


@pytest.mark.urls("progress.tests.urls")
def test_logging_in_with_a_token_another_account_claimed_logs_in_and_moves_nothing(client):
    """A stale cookie naming a token another account claimed: the login succeeds, that account keeps its rows."""
    owner = UserFactory()
    UserFactory(username="eve")
    token = uuid.uuid4()
    lens = LensFactory()
    complete_content(learner=Learner(session_token=token), content_id=lens.pk, content_type="lens")
    claim_progress(user=owner, session_token=token)
    client.cookies["learner_token"] = str(token)

    response = client.post("/accounts/login/", {"username": "eve", "password": "correct horse battery staple"})

    assert response.status_code == 302
    assert UserContentProgress.objects.get(content_id=lens.pk).user_id == owner.pk
    assert ClaimedToken.objects.get(token=token).user_id == owner.pk


def test_claim_moves_answer_drafts_keeping_the_newer_of_two():
    """Drafts move to the account at login like answers; where both typed a draft of one question, the
    more recent text is kept."""
    user = UserFactory()
    token = uuid.uuid4()
    lens = LensFactory()
    fields = {"content_id": lens.pk, "content_type": "lens"}
    AnswerDraft.objects.create(user=user, question_key="a", text="Account, older", updated_at=at(1), **fields)
    AnswerDraft.objects.create(
        session_token=token, question_key="a", text="Anonymous, newer", updated_at=at(2), **fields
    )
    AnswerDraft.objects.create(user=user, question_key="b", text="Account, newer", updated_at=at(3), **fields)
    AnswerDraft.objects.create(
        session_token=token, question_key="b", text="Anonymous, older", updated_at=at(2), **fields
    )
    AnswerDraft.objects.create(session_token=token, question_key="c", text="Only anonymous", **fields)

    claim_progress(user=user, session_token=token)

    assert sorted(AnswerDraft.objects.values_list("question_key", "text", "user_id")) == [
        ("a", "Anonymous, newer", user.pk),
        ("b", "Account, newer", user.pk),
        ("c", "Only anonymous", user.pk),
    ]


def test_twenty_tokens_on_one_lens_merge_into_no_more_than_wall_clock_time():
    """Twenty tokens each crediting 120 s on one lens in the same minute, claimed into one account, keep
    at most one heartbeat's worth (the span they were earned in plus the allowance), not 2,400 s; the
    receipts report what was kept and what was not."""
    user = UserFactory()
    lens = LensFactory()
    receipts = []
    for _ in range(20):
        token = uuid.uuid4()
        assert record_heartbeat(learner=Learner(session_token=token), content_id=lens.pk, time_delta_s=120) == 120
        receipts.append(claim_progress(user=user, session_token=token))
    merged = UserContentProgress.objects.get(user=user, content_id=lens.pk)
    assert 120 <= merged.total_time_spent_s <= 120 + 120 + 5, merged.total_time_spent_s
    assert merged.time_to_complete_s <= merged.total_time_spent_s
    assert sum(r.seconds for r in receipts) == merged.total_time_spent_s
    assert sum(r.seconds + r.seconds_not_kept for r in receipts) == 20 * 120
    assert "were not counted twice" in receipts[-1].summary()


def test_merged_time_earned_at_different_times_is_kept_in_full():
    """Rows earned days apart are summed as before: the bound only removes time no wall-clock could hold."""
    user = UserFactory()
    lens = LensFactory()
    ProgressFactory(
        user=user,
        session_token=None,
        content_id=lens.pk,
        started_at=at(1),
        last_heartbeat_at=at(1, 1),
        total_time_spent_s=3000,
    )
    token = uuid.uuid4()
    ProgressFactory(
        session_token=token, content_id=lens.pk, started_at=at(5), last_heartbeat_at=at(5, 1), total_time_spent_s=3000
    )
    receipt = claim_progress(user=user, session_token=token)
    assert UserContentProgress.objects.get(user=user, content_id=lens.pk).total_time_spent_s == 6000
    assert (receipt.seconds, receipt.seconds_not_kept) == (3000, 0)


def test_a_token_another_account_claimed_cannot_be_claimed_again():
    """Logging in to a second account with a dead token's cookie moves nothing of the first account."""
    first, second = UserFactory(), UserFactory()
    token = uuid.uuid4()
    complete_content(learner=Learner(session_token=token), content_id=LensFactory().pk, content_type="lens")
    ChatSessionFactory(session_token=token)
    claim_progress(user=first, session_token=token)
    ProgressFactory(session_token=token)  # a late row, as above: it is the first account's
    with pytest.raises(TokenClaimedElsewhere):
        claim_progress(user=second, session_token=token)
    assert not UserContentProgress.objects.filter(user=second).exists()
    assert ClaimedToken.objects.get(token=token).user_id == first.pk


@pytest.mark.urls("progress.tests.urls")
def test_a_page_with_a_claimed_token_starts_a_fresh_anonymous_learner(client):
    """A browser still carrying a claimed token's cookie (a shared computer) gets a new token on its next
    page, sees none of the account's progress, and what it does next stays its own."""
    user = UserFactory()
    token = uuid.uuid4()
    lens = LensFactory()
    complete_content(learner=Learner(session_token=token), content_id=lens.pk, content_type="lens")
    claim_progress(user=user, session_token=token)
    client.cookies["learner_token"] = str(token)

    response = client.get("/page/")
    fresh = uuid.UUID(response.cookies["learner_token"].value)
    assert fresh != token and str(fresh) in response.content.decode()
    client.get(f"/complete/{LensFactory().pk}/")
    assert UserContentProgress.objects.filter(session_token=fresh).count() == 1
    assert UserContentProgress.objects.filter(user=user).count() == 1
    assert not UserContentProgress.objects.filter(session_token=token).exists()
