"""Claiming an anonymous learner's conversations when they log in."""

import uuid

import pytest
from django.db import IntegrityError, transaction

from accounts.tests.factories import UserFactory
from chat.models import ChatSession
from chat.services import claim_chat_sessions
from chat.tests.factories import ChatMessageFactory, ChatSessionFactory

pytestmark = pytest.mark.django_db


def test_claim_moves_anonymous_sessions_to_the_account():
    """Every session of the token, active or archived, moves to the account with its messages."""
    user = UserFactory()
    token = uuid.uuid4()
    active = ChatSessionFactory(session_token=token)
    ChatMessageFactory(session=active)
    archived = ChatSessionFactory(session_token=token, content_id=active.content_id, archived_at="2026-01-01T00:00Z")
    other = ChatSessionFactory()  # someone else's

    assert claim_chat_sessions(session_token=token, user_id=user.pk) == 2

    active.refresh_from_db()
    archived.refresh_from_db()
    assert (active.user_id, active.session_token, active.archived_at) == (user.pk, None, None)
    assert archived.user_id == user.pk
    assert active.messages.count() == 1
    other.refresh_from_db()
    assert other.user_id is None


def test_claim_archives_anonymous_session_that_clashes_with_an_active_one():
    """When the account already chats about the same content, the anonymous chat is archived, not dropped."""
    user = UserFactory()
    token = uuid.uuid4()
    content_id = uuid.uuid4()
    existing = ChatSessionFactory(session_token=None, user=user, content_id=content_id)
    anonymous = ChatSessionFactory(session_token=token, content_id=content_id)
    ChatMessageFactory(session=anonymous, text="keep me")
    open_user = ChatSessionFactory(session_token=None, user=user, content_id=None, content_type=None)
    open_anonymous = ChatSessionFactory(session_token=token, content_id=None, content_type=None)

    assert claim_chat_sessions(session_token=token, user_id=user.pk) == 2

    anonymous.refresh_from_db()
    existing.refresh_from_db()
    open_anonymous.refresh_from_db()
    open_user.refresh_from_db()
    assert anonymous.user_id == user.pk and anonymous.archived_at is not None
    assert anonymous.messages.get().text == "keep me"
    assert existing.archived_at is None
    assert open_anonymous.user_id == user.pk and open_anonymous.archived_at is not None
    assert open_user.archived_at is None
    assert ChatSession.objects.active().filter(user=user).count() == 2


def test_one_active_session_per_owner_and_content():
    """The database refuses a second active conversation for the same owner and content, even open-ended."""
    token = uuid.uuid4()
    first = ChatSessionFactory(session_token=token, content_id=None, content_type=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        ChatSessionFactory(session_token=token, content_id=None, content_type=None)
    first.archived_at = "2026-01-01T00:00Z"
    first.save()
    ChatSessionFactory(session_token=token, content_id=None, content_type=None)


def test_session_has_exactly_one_owner():
    """A conversation belongs to an account or a token, never both or neither."""
    with pytest.raises(IntegrityError), transaction.atomic():
        ChatSessionFactory(session_token=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        ChatSessionFactory(user=UserFactory())
