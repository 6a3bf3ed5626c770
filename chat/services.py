"""Writes to tutor conversations. Each function is one write path."""

from uuid import UUID

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from chat.models import ChatSession


@transaction.atomic
def claim_chat_sessions(*, session_token: UUID, user_id: int) -> int:
    """Move an anonymous token's conversations to an account; returns how many moved.

    Called by progress claiming inside its transaction. Where the account already has an active
    conversation for the same content, the anonymous one is archived and moved: kept, never dropped.
    """
    users_active = ChatSession.objects.active().filter(user_id=user_id)
    clashes_with_users_active = Q(
        Exists(users_active.filter(content_id=OuterRef("content_id"))), content_id__isnull=False
    ) | Q(Exists(users_active.filter(content_id__isnull=True)), content_id__isnull=True)
    ChatSession.objects.active().filter(clashes_with_users_active, session_token=session_token).update(
        archived_at=timezone.now()
    )
    return ChatSession.objects.filter(session_token=session_token).update(user_id=user_id, session_token=None)
