"""Tutor conversations, kept apart from progress.

A conversation belongs to exactly one owner (an account or an anonymous token) and optionally to a
content item (the module or lens it was started from). Each owner has at most one active (not archived)
conversation per content item; archived ones stay readable as "Past conversations".

Messages are rows of their own rather than a JSON list on the session: an append is a plain INSERT,
so two tabs writing at once can never overwrite each other (no read-modify-write), the order is the
insertion order, and staff can read transcripts inline in admin.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce

from content_loader.models import ContentType

NIL_UUID = uuid.UUID(int=0)
CHAT_CONTENT_TYPES = [ContentType.MODULE, ContentType.LEARNING_OUTCOME, ContentType.LENS, ContentType.TEST]


class ChatSessionQuerySet(models.QuerySet):
    def active(self) -> "ChatSessionQuerySet":
        """Conversations that have not been archived."""
        return self.filter(archived_at__isnull=True)

    def owned_by(self, *, user_id: int | None, session_token) -> "ChatSessionQuerySet":
        """Conversations of one learner: the account when given, else the anonymous token."""
        if user_id is not None:
            return self.filter(user_id=user_id)
        return self.filter(session_token=session_token, user__isnull=True)


class ChatSession(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="chat_sessions"
    )
    session_token = models.UUIDField(null=True, blank=True)
    content_id = models.UUIDField(null=True, blank=True)
    content_type = models.CharField(
        max_length=10, null=True, blank=True, choices=[(t.value, t.label) for t in CHAT_CONTENT_TYPES]
    )
    started_at = models.DateTimeField(auto_now_add=True)
    last_active_at = models.DateTimeField(auto_now_add=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    objects = ChatSessionQuerySet.as_manager()

    class Meta:
        ordering = ["-last_active_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False) & Q(session_token__isnull=True))
                | (Q(user__isnull=True) & Q(session_token__isnull=False)),
                name="chat_session_one_owner",
            ),
            models.CheckConstraint(
                condition=Q(content_type__isnull=True) | Q(content_type__in=[t.value for t in CHAT_CONTENT_TYPES]),
                name="chat_session_valid_content_type",
            ),
            models.CheckConstraint(
                condition=Q(content_id__isnull=True, content_type__isnull=True)
                | Q(content_id__isnull=False, content_type__isnull=False),
                name="chat_session_content_id_with_type",
            ),
            # Open-ended chats (no content) count as one content item: NULL is folded to the nil UUID,
            # which works on every backend (NULLS NOT DISTINCT does not exist on SQLite).
            models.UniqueConstraint(
                F("user"),
                Coalesce("content_id", Value(NIL_UUID, output_field=models.UUIDField())),
                condition=Q(user__isnull=False, archived_at__isnull=True),
                name="chat_session_one_active_per_user_content",
            ),
            models.UniqueConstraint(
                F("session_token"),
                Coalesce("content_id", Value(NIL_UUID, output_field=models.UUIDField())),
                condition=Q(session_token__isnull=False, archived_at__isnull=True),
                name="chat_session_one_active_per_token_content",
            ),
        ]
        indexes = [models.Index(fields=["session_token"], name="chat_session_token_idx")]

    def __str__(self) -> str:
        owner = f"user {self.user_id}" if self.user_id else f"token {self.session_token}"
        return f"Chat {self.pk} of {owner}"

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class ChatMessage(models.Model):
    class Role(models.TextChoices):
        USER = "user", "Learner"
        ASSISTANT = "assistant", "Tutor"

    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=10, choices=Role.choices)
    text = models.TextField()
    lens_id = models.UUIDField(null=True, blank=True, help_text="The lens the message was sent from.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(role__in=["user", "assistant"]), name="chat_message_valid_role"),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.text[:60]}"
