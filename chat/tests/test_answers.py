"""Answers to questions: saving and editing, limits, locking, and claiming on login."""

import uuid

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.tests.factories import UserFactory
from chat import services
from chat.models import QuestionAnswer
from chat.tests.factories import QuestionAnswerFactory, shared_question
from chat.tests.test_sessions import run_in_threads
from learners import Learner

pytestmark = pytest.mark.django_db


def save(*, text: str, user_id=None, session_token=None, content_id=None, question=None, locked=False):
    return services.save_answer(
        learner=Learner(user_id=user_id, session_token=session_token),
        content_id=content_id or CONTENT_ID,
        content_type="lens",
        question=question or shared_question(),
        text=text,
        locked=locked,
    )


CONTENT_ID = uuid.uuid4()


def test_saving_twice_edits_one_answer_and_keeps_a_snapshot_of_the_question():
    """An answer is one row per learner and question; editing it updates the text and the time."""
    token = uuid.uuid4()
    first = save(session_token=token, text="Because of goals.")
    edited_at = timezone.now()
    second = save(session_token=token, text="Because being off stops it reaching its goal.")
    assert first.pk == second.pk
    answer = QuestionAnswer.objects.get()
    assert answer.text == "Because being off stops it reaching its goal."
    assert answer.question_text == "Why might an AI resist being switched off?"
    assert answer.updated_at >= edited_at > first.updated_at


def test_max_chars_is_enforced():
    """An answer longer than the question's `max-chars` is refused with the numbers in the message."""
    with pytest.raises(services.AnswerTooLong, match="201 characters long; this question allows 200"):
        save(session_token=uuid.uuid4(), text="x" * 201)
    save(session_token=uuid.uuid4(), text="x" * 200)
    save(session_token=uuid.uuid4(), text="x" * 5000, question=shared_question(max_chars=None))


def test_a_locked_answer_is_not_changed():
    """When the caller says the lens or test is completed, the saved answer stays as it was."""
    token = uuid.uuid4()
    save(session_token=token, text="first")
    with pytest.raises(services.AnswerLocked):
        save(session_token=token, text="changed", locked=True)
    assert QuestionAnswer.objects.get().text == "first"


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_saves_make_one_current_answer():
    """Two tabs saving a first answer at once end with one current answer (the last write)."""
    user = UserFactory()
    texts = run_in_threads(4, lambda i: save(user_id=user.pk, text=f"tab {i}").text)
    answer = QuestionAnswer.objects.current().get(user=user)
    assert answer.text in texts


def test_one_current_answer_per_owner_and_question():
    """The database refuses a second current answer to the same question by the same learner."""
    first = QuestionAnswerFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        QuestionAnswerFactory(session_token=first.session_token, content_id=first.content_id)


def test_claim_moves_answers_to_the_account():
    """Claiming moves every answer of the token to the account."""
    user = UserFactory()
    token = uuid.uuid4()
    answer = QuestionAnswerFactory(session_token=token)
    other_question = QuestionAnswerFactory(session_token=token, content_id=answer.content_id, question_key="f" * 16)
    someone_else = QuestionAnswerFactory()

    assert services.claim_question_answers(session_token=token, user_id=user.pk) == 2

    for row in (answer, other_question):
        row.refresh_from_db()
        assert (row.user_id, row.session_token, row.superseded_at) == (user.pk, None, None)
    someone_else.refresh_from_db()
    assert someone_else.user_id is None


def test_claim_keeps_the_accounts_answer_current_and_the_anonymous_one_retrievable():
    """When both answered the same question, the account's answer stays current; the other is kept, superseded."""
    user = UserFactory()
    token = uuid.uuid4()
    accounts = QuestionAnswerFactory(session_token=None, user=user, text="account's answer")
    anonymous = QuestionAnswerFactory(
        session_token=token, content_id=accounts.content_id, question_key=accounts.question_key, text="phone answer"
    )

    assert services.claim_question_answers(session_token=token, user_id=user.pk) == 1

    anonymous.refresh_from_db()
    assert anonymous.user_id == user.pk and anonymous.superseded_at is not None
    current = QuestionAnswer.objects.current().owned_by(Learner(user_id=user.pk))
    assert list(current.values_list("text", flat=True)) == ["account's answer"]
    assert list(QuestionAnswer.objects.superseded().filter(user=user).values_list("text", flat=True)) == [
        "phone answer"
    ]


def test_claim_with_nothing_to_claim_moves_nothing():
    """A token without answers claims nothing and touches nobody's answers."""
    user = UserFactory()
    QuestionAnswerFactory(session_token=None, user=user)
    assert services.claim_question_answers(session_token=uuid.uuid4(), user_id=user.pk) == 0
