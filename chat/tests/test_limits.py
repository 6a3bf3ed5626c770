"""Limits on what a learner sends: message length and a rate limit counted in the database."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from chat import services
from chat.models import ChatMessage, FeedbackRequest, ReplyState
from chat.tests.factories import ChatMessageFactory, ChatSessionFactory, QuestionAnswerFactory

pytestmark = pytest.mark.django_db


def send(token, text="Hello?"):
    lens = uuid.uuid4()
    return services.send_learner_message(
        user_id=None, session_token=token, content_id=lens, content_type="lens", lens_id=lens, text=text
    )


def test_a_message_over_the_length_limit_is_refused(settings):
    """A message longer than CHAT_MAX_MESSAGE_CHARS is refused with both numbers; nothing is saved."""
    settings.CHAT_MAX_MESSAGE_CHARS = 10
    with pytest.raises(services.MessageTooLong, match="11 characters long; the limit is 10"):
        send(uuid.uuid4(), "x" * 11)
    assert not ChatMessage.objects.exists()
    assert send(uuid.uuid4(), "x" * 10).text == "x" * 10


def test_an_empty_message_is_refused():
    """A message of only spaces is not sent."""
    with pytest.raises(services.EmptyMessage):
        send(uuid.uuid4(), "   \n ")


def test_the_rate_limit_counts_recent_messages_of_the_learner_across_conversations(settings):
    """After CHAT_RATE_LIMIT_MESSAGES messages in the window, the next is refused with a time to wait."""
    settings.CHAT_RATE_LIMIT_MESSAGES = 3
    settings.CHAT_RATE_LIMIT_WINDOW_SECONDS = 60
    token = uuid.uuid4()
    for _ in range(3):
        send(token)  # each in a conversation about another lens
    with pytest.raises(services.RateLimited) as refused:
        send(token)
    assert "3 times in the last 1 minute" in refused.value.message
    assert 1 <= refused.value.retry_after <= 61
    send(uuid.uuid4())  # another learner is not limited


def test_old_messages_and_tutor_replies_do_not_count(settings):
    """Only the learner's own messages within the window count, not older ones or the tutor's replies."""
    settings.CHAT_RATE_LIMIT_MESSAGES = 2
    settings.CHAT_RATE_LIMIT_WINDOW_SECONDS = 60
    token = uuid.uuid4()
    session = ChatSessionFactory(session_token=token)
    old = ChatMessageFactory(session=session)
    ChatMessage.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    ChatMessageFactory(session=session, role="assistant")
    ChatMessageFactory(session=session, role="assistant")
    send(token)
    send(token)
    with pytest.raises(services.RateLimited):
        send(token)


def test_feedback_requests_count_towards_the_rate_limit(settings):
    """Asking for feedback on answers uses the same allowance as chat messages."""
    settings.CHAT_RATE_LIMIT_MESSAGES = 2
    token = uuid.uuid4()
    services.request_feedback(answer_id=QuestionAnswerFactory(session_token=token).pk)
    send(token)
    with pytest.raises(services.RateLimited):
        services.check_rate_limit(user_id=None, session_token=token)


def finish_feedback(answer_id: int) -> None:
    """The feedback being generated ends (as the background generator would finish it)."""
    FeedbackRequest.objects.filter(answer_id=answer_id, state=ReplyState.GENERATING).update(state=ReplyState.COMPLETE)


def test_each_feedback_request_on_the_same_answer_counts(settings):
    """Asking again and again about one answer is as many tutor requests, not one."""
    settings.CHAT_RATE_LIMIT_MESSAGES = 3
    token = uuid.uuid4()
    answer = QuestionAnswerFactory(session_token=token)
    for _request in range(2):
        services.check_rate_limit(user_id=None, session_token=token)
        services.request_feedback(answer_id=answer.pk)
        finish_feedback(answer.pk)
    services.check_rate_limit(user_id=None, session_token=token)  # two requests: under the limit of three
    services.request_feedback(answer_id=answer.pk)
    with pytest.raises(services.RateLimited):
        services.check_rate_limit(user_id=None, session_token=token)
