"""Limits on what a learner sends: message and answer length, and rate limits (ops.ratelimit)."""

import uuid

import pytest

from chat import services
from chat.models import ChatMessage
from learners import Learner

pytestmark = pytest.mark.django_db


def send(token, text="Hello?"):
    lens = uuid.uuid4()
    return services.send_learner_message(
        learner=Learner(session_token=token), content_id=lens, content_type="lens", lens_id=lens, text=text
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
    assert "sent 3 messages in the last 60 seconds" in refused.value.message
    assert 1 <= refused.value.retry_after <= 61
    assert ChatMessage.objects.count() == 3
    send(uuid.uuid4())  # another learner is not limited


def test_each_tutor_call_counts_feedback_included(settings):
    """Every model call is one against the limit: feedback asked again and again about one answer too."""
    settings.CHAT_RATE_LIMIT_MESSAGES = 3
    token = uuid.uuid4()
    for _call in range(3):
        services.count_tutor_call(learner=Learner(session_token=token))
    with pytest.raises(services.RateLimited) as refused:
        services.count_tutor_call(learner=Learner(session_token=token))
    assert "asked the tutor 3 times" in refused.value.message


def test_deleting_the_learners_data_does_not_reset_the_limit(settings):
    """The count is kept apart from messages and answers: deleting them all (and the account) leaves it."""
    from django.contrib.auth import get_user_model

    from learners import Learner
    from progress.tooling.learner_data import erase_learner_data

    settings.CHAT_RATE_LIMIT_MESSAGES = 2
    user = get_user_model().objects.create_user("limited")
    lens = uuid.uuid4()
    for _ in range(2):
        services.send_learner_message(
            learner=Learner(user_id=user.pk), content_id=lens, content_type="lens", lens_id=lens, text="Hi"
        )
    erase_learner_data(learner=Learner(user_id=user.pk))
    assert not ChatMessage.objects.exists()
    with pytest.raises(services.RateLimited):
        services.count_message(learner=Learner(user_id=user.pk))


def test_an_anonymous_learners_count_follows_them_to_their_fresh_token(settings):
    """ "Delete my data" gives an anonymous browser a fresh token: the old token's count goes with it."""
    from learners import Learner
    from progress.tooling.learner_data import erase_learner_data

    settings.CHAT_RATE_LIMIT_MESSAGES = 2
    token, fresh = uuid.uuid4(), uuid.uuid4()
    send(token), send(token)
    erase_learner_data(learner=Learner(session_token=token), fresh_token=fresh)
    with pytest.raises(services.RateLimited):
        send(fresh)


def test_an_answer_without_max_chars_is_bounded_by_the_site_maximum(settings):
    """An answer to a question without `max-chars` over ANSWER_MAX_CHARS is refused with both numbers."""
    settings.ANSWER_MAX_CHARS = 100
    question = {"key": "k" * 16, "content_text": "Why?"}
    owner = {"learner": Learner(session_token=uuid.uuid4()), "content_id": uuid.uuid4(), "content_type": "lens"}
    with pytest.raises(services.AnswerTooLong, match="101 characters long; answers can be at most 100"):
        services.save_answer(**owner, question=question, text="x" * 101, locked=False)
    assert services.save_answer(**owner, question=question, text="x" * 100, locked=False).text == "x" * 100
    bigger = question | {"max_chars": 500}  # an author's own max-chars wins
    assert services.save_answer(**owner, question=bigger, text="y" * 400, locked=False).text == "y" * 400


def test_answer_saves_are_rate_limited(settings):
    """Past ANSWER_RATE_LIMIT_SAVES saves in the window the next save is refused and the answer unchanged."""
    from chat.models import QuestionAnswer

    settings.ANSWER_RATE_LIMIT_SAVES = 3
    question = {"key": "k" * 16, "content_text": "Why?"}
    owner = {"learner": Learner(session_token=uuid.uuid4()), "content_id": uuid.uuid4(), "content_type": "lens"}
    for number in range(3):
        services.save_answer(**owner, question=question, text=f"draft {number}", locked=False)
    with pytest.raises(services.RateLimited, match="saved answers 3 times"):
        services.save_answer(**owner, question=question, text="draft 3", locked=False)
    assert QuestionAnswer.objects.get().text == "draft 2"


@pytest.mark.django_db(transaction=True)
def test_parallel_sends_cannot_pass_the_limit(settings):
    """60 messages sent at once by one learner, each on its own connection, against a limit of 20: 20 stored."""
    import threading

    from django.db import connections

    settings.CHAT_RATE_LIMIT_MESSAGES = 20
    token = uuid.uuid4()
    start = threading.Barrier(60)
    refused = []

    def one() -> None:
        try:
            start.wait()
            send(token)
        except services.RateLimited:
            refused.append(1)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=one) for _ in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (ChatMessage.objects.count(), len(refused)) == (20, 40)


@pytest.mark.django_db(transaction=True)
def test_try_again_counts_against_the_limit(client, tutor_server, settings):
    """25 "Try again" on replies that fail reach the tutor only up to the limit; the rest are 429."""
    from accounts.tests.factories import UserFactory
    from chat.tests.factories import chat_lens_body
    from chat.tests.fake_tutor import Fail
    from content_loader.tests.factories import LensFactory

    settings.CHAT_RATE_LIMIT_MESSAGES = 5
    lens = LensFactory(body=chat_lens_body())
    client.force_login(UserFactory())
    tutor_server.script.extend([Fail(500)] * 30)
    kwargs = {"lens_id": lens.pk, "segment_index": 1}
    from django.urls import reverse

    client.post(reverse("chat:send", kwargs=kwargs), {"text": "Hello?"}, HTTP_HX_REQUEST="true")
    statuses = [
        client.post(reverse("chat:reply", kwargs=kwargs), HTTP_HX_REQUEST="true").status_code for _ in range(25)
    ]
    assert len(tutor_server.requests) == 5
    assert statuses.count(429) == 20
    assert ChatMessage.objects.filter(role="user").count() == 1  # the message is never saved twice
