"""Conversations: race-safe get-or-create, appends that never lose a message, archiving."""

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.tests.factories import UserFactory
from chat import replies, services
from chat.models import ChatMessage, ChatSession, ReplyState
from chat.tests.factories import ChatMessageFactory, ChatSessionFactory


def run_in_threads(count: int, target) -> list:
    """Run `target(i)` in `count` threads started together, each with its own database connection."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = target(i)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return results


@pytest.mark.django_db
def test_get_or_create_returns_the_same_active_session():
    """Asking twice for a learner's conversation about a lens gives the same one; other content gets its own."""
    token, lens = uuid.uuid4(), uuid.uuid4()
    owner = {"user_id": None, "session_token": token}
    first = services.get_or_create_active_session(**owner, content_id=lens, content_type="lens")
    again = services.get_or_create_active_session(**owner, content_id=lens, content_type="lens")
    other = services.get_or_create_active_session(**owner, content_id=None, content_type=None)
    assert first.pk == again.pk != other.pk
    assert (first.session_token, first.user_id, first.archived_at) == (token, None, None)


@pytest.mark.django_db
def test_a_learner_needs_an_account_or_a_token():
    """Without a user or a token there is nobody to own a conversation."""
    with pytest.raises(ValueError):
        services.get_or_create_active_session(user_id=None, session_token=None, content_id=None, content_type=None)


@pytest.mark.django_db(transaction=True)
def test_concurrent_get_or_create_leaves_one_active_session():
    """First messages from several tabs at once end in one active conversation holding every message."""
    user = UserFactory()
    lens = uuid.uuid4()

    def first_message(i: int) -> int:
        message = services.send_learner_message(
            user_id=user.pk, session_token=None, content_id=lens, content_type="lens", lens_id=lens, text=f"tab {i}"
        )
        return message.session_id

    session_ids = run_in_threads(6, first_message)

    assert len(set(session_ids)) == 1
    assert ChatSession.objects.active().filter(user=user, content_id=lens).count() == 1
    assert sorted(ChatMessage.objects.values_list("text", flat=True)) == [f"tab {i}" for i in range(6)]


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_lose_nothing():
    """Two threads appending to one conversation at the same time keep every message of both."""
    session = ChatSessionFactory()

    def append_many(i: int) -> None:
        for n in range(25):
            services.append_message(session_id=session.pk, role="user", text=f"{i}-{n}", lens_id=None)

    run_in_threads(2, append_many)

    texts = set(ChatMessage.objects.filter(session=session).values_list("text", flat=True))
    assert texts == {f"{i}-{n}" for i in range(2) for n in range(25)}


@pytest.mark.django_db
def test_append_updates_last_active():
    """Appending a message moves the conversation's last activity to now."""
    session = ChatSessionFactory()
    ChatSession.objects.filter(pk=session.pk).update(last_active_at=timezone.now() - timedelta(days=1))
    message = services.append_message(session_id=session.pk, role="assistant", text="Hi", lens_id=None)
    session.refresh_from_db()
    assert session.last_active_at >= message.created_at - timedelta(seconds=1)
    assert session.messages.get().role == ChatMessage.Role.ASSISTANT


@pytest.mark.django_db
def test_new_conversation_archives_the_active_one_and_starts_empty():
    """ "Start a new conversation" keeps the old one (archived, with its messages) and starts an empty one."""
    token, lens = uuid.uuid4(), uuid.uuid4()
    old = ChatSessionFactory(session_token=token, content_id=lens)
    ChatMessageFactory(session=old, text="keep me")
    other_lens = ChatSessionFactory(session_token=token)

    new = services.start_new_conversation(user_id=None, session_token=token, content_id=lens, content_type="lens")

    old.refresh_from_db()
    assert old.archived_at is not None and old.messages.get().text == "keep me"
    assert new.pk != old.pk and new.archived_at is None and not new.messages.exists()
    assert list(ChatSession.objects.for_past_conversations(user_id=None, session_token=token, content_id=lens)) == [old]
    other_lens.refresh_from_db()
    assert other_lens.archived_at is None


@pytest.mark.django_db
def test_new_conversation_without_an_active_one_just_starts_one():
    """Starting a new conversation when there is none creates the active one."""
    user = UserFactory()
    new = services.start_new_conversation(user_id=user.pk, session_token=None, content_id=None, content_type=None)
    assert ChatSession.objects.active().get(user=user) == new


@pytest.mark.django_db
def test_archive_chat_sessions_counts_only_active_ones():
    """The staff action archives the active conversations among those selected."""
    active = ChatSessionFactory()
    archived = ChatSessionFactory(archived_at=timezone.now())
    assert services.archive_chat_sessions(session_ids=[active.pk, archived.pk]) == 1
    active.refresh_from_db()
    assert active.archived_at is not None


@pytest.mark.django_db
def test_reply_lease_is_taken_once_and_a_dead_generators_reply_is_kept_interrupted():
    """One reply is generated at a time per conversation; a reply whose lease ran out (its generator died)
    is marked interrupted with its text kept, and a new reply may be asked for."""
    session = ChatSessionFactory()
    first = services.begin_reply(session_id=session.pk, lens_id=None)
    assert first is not None and first.state == ReplyState.GENERATING
    assert services.begin_reply(session_id=session.pk, lens_id=None) is None
    ChatMessage.objects.filter(pk=first.pk).update(text="Half a", lease_until=timezone.now() - timedelta(seconds=1))

    second = services.begin_reply(session_id=session.pk, lens_id=None)

    assert second is not None
    first.refresh_from_db()
    assert (first.state, first.text, first.problem) == (
        ReplyState.INTERRUPTED,
        "Half a",
        replies.DEAD_GENERATOR_PROBLEM,
    )


@pytest.mark.django_db
def test_a_failed_reply_without_text_gives_way_to_the_next_one():
    """An interrupted reply that brought no text is only a notice: asking again replaces it."""
    session = ChatSessionFactory()
    failed = services.begin_reply(session_id=session.pk, lens_id=None)
    ChatMessage.objects.filter(pk=failed.pk).update(state=ReplyState.INTERRUPTED, problem="HTTP 500")
    again = services.begin_reply(session_id=session.pk, lens_id=None)
    assert list(session.messages.values_list("pk", flat=True)) == [again.pk]
