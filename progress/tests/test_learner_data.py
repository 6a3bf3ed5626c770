"""A learner's data: the export holds all of it and nothing of anyone else; the erasure leaves none of it."""

import json
import uuid
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import UserFactory
from chat.models import AnswerDraft, ChatMessage, ChatSession, QuestionAnswer
from chat.tests.factories import ChatMessageFactory, ChatSessionFactory, QuestionAnswerFactory
from content_loader.tests.factories import LensFactory
from learners import Learner
from progress.models import ClaimedToken, LearnerDataAudit, ProgressAudit, UserContentProgress
from progress.tests.factories import ProgressFactory
from progress.tooling import audit
from progress.tooling.learner_data import erase_learner_data, export_learner_data, learner_data_counts

pytestmark = pytest.mark.django_db


def fill(*, user=None, token=None, tag: str) -> None:
    """One progress row, a conversation with two messages and an answer, all marked with `tag`."""
    owner = {"user": user, "session_token": None} if user else {"session_token": token}
    ProgressFactory(**owner, content_title=f"{tag} lens", completed_at=datetime(2026, 1, 2, tzinfo=UTC))
    session = ChatSessionFactory(**owner)
    ChatMessageFactory(session=session, text=f"{tag} asks")
    ChatMessageFactory(session=session, role="assistant", text=f"{tag} is answered")
    QuestionAnswerFactory(**owner, text=f"{tag} answer")


def everything_of(document: dict) -> str:
    return json.dumps(document)


def test_an_account_exports_its_rows_chats_answers_and_late_rows_of_claimed_tokens():
    """Everything of the account and of its claimed token is in the document; nothing of other learners."""
    user = UserFactory(username="ada", email="ada@example.com")
    claimed = uuid.uuid4()
    ClaimedToken.objects.create(token=claimed, user=user)
    fill(user=user, tag="ada-own")
    fill(token=claimed, tag="ada-late")
    fill(user=UserFactory(), tag="someone-else")
    fill(token=uuid.uuid4(), tag="anonymous-else")
    lens = LensFactory(title="Registry title")
    ProgressFactory(user=user, session_token=None, content_id=lens.pk, content_title="Old title")

    document = export_learner_data(learner=Learner(user_id=user.pk))
    text = everything_of(document)
    assert document["learner"]["username"] == "ada" and document["learner"]["email"] == "ada@example.com"
    assert document["learner"]["claimed_tokens"] == [str(claimed)]
    assert len(document["progress"]) == 3 and len(document["chat_sessions"]) == 2
    assert len(document["question_answers"]) == 2
    for tag in ("ada-own", "ada-late"):
        assert f"{tag} lens" in text and f"{tag} asks" in text and f"{tag} is answered" in text
        assert f"{tag} answer" in text
    assert "someone-else" not in text and "anonymous-else" not in text
    assert "password" not in text
    assert {row["title"] for row in document["progress"]} >= {"Registry title"}
    assert [m["role"] for m in document["chat_sessions"][0]["messages"]] == ["user", "assistant"]
    assert {row["stored_under"] for row in document["progress"]} == {"account", f"token {claimed}"}


def test_an_anonymous_learner_exports_the_data_of_their_token_only():
    """A token's export holds its own rows, chats and answers, nobody else's."""
    token = uuid.uuid4()
    fill(token=token, tag="mine")
    fill(token=uuid.uuid4(), tag="theirs")
    fill(user=UserFactory(), tag="account")
    document = export_learner_data(learner=Learner(session_token=token))
    text = everything_of(document)
    assert document["learner"] == {"kind": "anonymous", "token": str(token)}
    assert "mine lens" in text and "mine asks" in text and "mine answer" in text
    assert "theirs" not in text and "account lens" not in text


def test_the_export_includes_staff_corrections_of_the_learners_rows():
    """Corrections made in admin to the learner's rows are part of their data."""
    user = UserFactory()
    row = ProgressFactory(user=user, session_token=None)
    audit.mark_complete(row_id=row.pk, actor=UserFactory(is_staff=True), reason="finished on paper")
    audit.mark_complete(row_id=ProgressFactory().pk, actor=UserFactory(is_staff=True), reason="someone else")
    document = export_learner_data(learner=Learner(user_id=user.pk))
    assert [c["reason"] for c in document["corrections"]] == ["finished on paper"]


def test_the_export_takes_a_fixed_number_of_queries():
    """Exporting 1 or 15 conversations, rows and answers costs the same queries."""
    counts = []
    for size in (1, 15):
        user = UserFactory()
        for number in range(size):
            fill(user=user, tag=f"n{number}")
        with CaptureQueriesContext(connection) as queries:
            export_learner_data(learner=Learner(user_id=user.pk))
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_erasing_an_account_removes_all_its_data_and_the_account_and_nothing_else():
    """Rows, chats, messages, answers, claimed-token rows and the account go; other learners keep theirs."""
    user = UserFactory()
    claimed = uuid.uuid4()
    ClaimedToken.objects.create(token=claimed, user=user)
    fill(user=user, tag="gone")
    fill(token=claimed, tag="gone-late")
    other = UserFactory()
    fill(user=other, tag="kept")
    other_token = uuid.uuid4()
    fill(token=other_token, tag="kept-anonymous")
    staff = UserFactory(is_staff=True, username="staffer")

    counts = erase_learner_data(learner=Learner(user_id=user.pk), actor=staff)
    assert counts == {
        "progress_rows": 2,
        "chat_sessions": 2,
        "chat_messages": 4,
        "question_answers": 2,
        "answer_drafts": 0,
        "answer_starts": 0,
        "assessments": 0,
        "roleplay_attempts": 0,
        "roleplay_messages": 0,
        "roleplay_feedback": 0,
        "accounts": 1,
    }
    assert not get_user_model().objects.filter(pk=user.pk).exists()
    assert not ClaimedToken.objects.exists()
    for model in (UserContentProgress, ChatSession, QuestionAnswer):
        assert not model.objects.filter(user_id=user.pk).exists()
        assert not model.objects.filter(session_token=claimed).exists()
        assert model.objects.filter(user=other).count() == 1
        assert model.objects.filter(session_token=other_token).count() == 1
    assert ChatMessage.objects.count() == 4
    record = LearnerDataAudit.objects.get()
    assert (record.action, record.learner, record.actor, record.actor_username) == (
        "erase",
        f"user {user.pk}",
        staff,
        "staffer",
    )
    assert record.counts == counts


def test_erasing_an_anonymous_learner_removes_their_tokens_data_only():
    """A token's rows, chats and answers go; an account and other tokens keep theirs."""
    token = uuid.uuid4()
    fill(token=token, tag="gone")
    fill(token=uuid.uuid4(), tag="kept")
    fill(user=UserFactory(), tag="kept-account")
    counts = erase_learner_data(learner=Learner(session_token=token))
    assert counts["progress_rows"] == 1 and counts["accounts"] == 0
    assert learner_data_counts(learner=Learner(session_token=token)) == {
        "progress_rows": 0,
        "chat_sessions": 0,
        "chat_messages": 0,
        "question_answers": 0,
        "answer_drafts": 0,
        "answer_starts": 0,
        "assessments": 0,
        "roleplay_attempts": 0,
        "roleplay_messages": 0,
        "roleplay_feedback": 0,
        "accounts": 0,
    }
    assert UserContentProgress.objects.count() == 2 and ChatSession.objects.count() == 2
    record = LearnerDataAudit.objects.get()
    assert (record.learner, record.actor_username) == (f"token {token}", "")


def test_an_erasure_is_one_transaction(monkeypatch):
    """When removing the account fails, the rows removed before it come back."""
    user = UserFactory()
    fill(user=user, tag="kept")

    def failing_filter(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(get_user_model().objects, "filter", failing_filter)
    with pytest.raises(RuntimeError):
        erase_learner_data(learner=Learner(user_id=user.pk))
    monkeypatch.undo()
    assert UserContentProgress.objects.filter(user=user).count() == 1
    assert ChatSession.objects.filter(user=user).count() == 1 and not LearnerDataAudit.objects.exists()


def test_correction_records_survive_an_erasure_without_a_name():
    """Audit records of corrections stay, naming the learner only as "user N"."""
    user = UserFactory(username="grace")
    row = ProgressFactory(user=user, session_token=None)
    audit.mark_complete(row_id=row.pk, actor=UserFactory(is_staff=True), reason="checked")
    erase_learner_data(learner=Learner(user_id=user.pk))
    record = ProgressAudit.objects.get()
    assert record.learner == f"user {user.pk}" and "grace" not in json.dumps([record.before, record.after])


def test_drafts_are_downloaded_and_erased_with_the_learners_data():
    """ "Download my data" holds the learner's answer drafts; "Delete my data" removes them, no one else's."""
    user = UserFactory()
    lens = LensFactory()
    mine = AnswerDraft.objects.create(
        user=user, content_id=lens.pk, content_type="lens", question_key="q", text="Typing"
    )
    other = AnswerDraft.objects.create(
        session_token=uuid.uuid4(), content_id=lens.pk, content_type="lens", question_key="q"
    )

    document = export_learner_data(learner=Learner(user_id=user.pk))

    assert [(d["question_key"], d["text"], d["stored_under"]) for d in document["answer_drafts"]] == [
        ("q", "Typing", "account")
    ]
    assert learner_data_counts(learner=Learner(user_id=user.pk))["answer_drafts"] == 1
    erase_learner_data(learner=Learner(user_id=user.pk))
    assert not AnswerDraft.objects.filter(pk=mine.pk).exists() and AnswerDraft.objects.filter(pk=other.pk).exists()
