"""Tutor conversations and answers to questions, kept apart from progress.

A conversation belongs to exactly one owner (an account or an anonymous token) and optionally to a
content item (the module or lens it was started from). Each owner has at most one active (not archived)
conversation per content item; archived ones stay readable as "Past conversations".

Messages are rows of their own rather than a JSON list on the session: an append is a plain INSERT,
so two tabs writing at once can never overwrite each other (no read-modify-write), the order is the
insertion order, and staff can read transcripts inline in admin.

An answer to a `#### Question` is one row per owner, content item (lens or test) and question key, with a
snapshot of the question text. Claiming never drops an answer: when the account already answered the
same question, the anonymous answer moves to the account marked superseded, still readable.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Count, F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from content_loader.models import ContentType

NIL_UUID = uuid.UUID(int=0)
CHAT_CONTENT_TYPES = [ContentType.MODULE, ContentType.LEARNING_OUTCOME, ContentType.LENS, ContentType.TEST]
ANSWER_CONTENT_TYPES = [ContentType.LENS, ContentType.TEST]


class ChatSessionQuerySet(models.QuerySet):
    def active(self) -> "ChatSessionQuerySet":
        """Conversations that have not been archived."""
        return self.filter(archived_at__isnull=True)

    def archived(self) -> "ChatSessionQuerySet":
        """Conversations that have been archived ("Past conversations")."""
        return self.filter(archived_at__isnull=False)

    def owned_by(self, *, user_id: int | None, session_token: uuid.UUID | None) -> "ChatSessionQuerySet":
        """Conversations of one learner: the account when given, else the anonymous token."""
        return self.filter(owner_q(user_id=user_id, session_token=session_token))

    def about(self, content_id: uuid.UUID | None) -> "ChatSessionQuerySet":
        """Conversations about one content item (None: open-ended conversations, `IS NULL`)."""
        return self.filter(content_id=content_id)

    def for_chat_panel(
        self, *, user_id: int | None, session_token: uuid.UUID | None, content_id: uuid.UUID | None
    ) -> "ChatSessionQuerySet":
        """The learner's active conversation about a content item, with its messages (the chat panel)."""
        return (
            self.active()
            .owned_by(user_id=user_id, session_token=session_token)
            .about(content_id)
            .prefetch_related("messages")
        )

    def for_conversation_list(self, *, user_id: int | None, session_token: uuid.UUID | None) -> "ChatSessionQuerySet":
        """Every conversation of the learner, active and archived, most recent first, with message counts."""
        return (
            self.owned_by(user_id=user_id, session_token=session_token)
            .annotate(message_count=Count("messages"))
            .order_by("-last_active_at", "-id")
        )

    def for_past_conversations(
        self, *, user_id: int | None, session_token: uuid.UUID | None, content_id: uuid.UUID | None
    ) -> "ChatSessionQuerySet":
        """The learner's archived conversations about a content item, newest first, with message counts."""
        return (
            self.archived()
            .owned_by(user_id=user_id, session_token=session_token)
            .about(content_id)
            .annotate(message_count=Count("messages"))
            .order_by("-archived_at", "-id")
        )


def owner_q(*, user_id: int | None, session_token: uuid.UUID | None) -> Q:
    """Rows of one learner: the account when given, else the anonymous token (never nobody's rows)."""
    if user_id is not None:
        return Q(user_id=user_id)
    if session_token is not None:
        return Q(session_token=session_token, user__isnull=True)
    raise ValueError("A learner is an account or an anonymous token; neither was given.")


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
    replying_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Set while a tutor reply is being generated, so that two tabs never ask the tutor twice.",
    )

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


class QuestionAnswerQuerySet(models.QuerySet):
    def current(self) -> "QuestionAnswerQuerySet":
        """Answers that count: not superseded by the account's own answer at a claim."""
        return self.filter(superseded_at__isnull=True)

    def superseded(self) -> "QuestionAnswerQuerySet":
        """Anonymous answers kept after a claim found the account had answered the same question."""
        return self.filter(superseded_at__isnull=False)

    def owned_by(self, *, user_id: int | None, session_token: uuid.UUID | None) -> "QuestionAnswerQuerySet":
        """Answers of one learner: the account when given, else the anonymous token."""
        return self.filter(owner_q(user_id=user_id, session_token=session_token))

    def for_question(self, *, content_id: uuid.UUID, question_key: str) -> "QuestionAnswerQuerySet":
        """Answers to one question of one lens or test."""
        return self.filter(content_id=content_id, question_key=question_key)

    def for_item_page(
        self, *, user_id: int | None, session_token: uuid.UUID | None, content_id: uuid.UUID
    ) -> "QuestionAnswerQuerySet":
        """The learner's answers on one lens or test page (current and superseded), oldest first."""
        return self.owned_by(user_id=user_id, session_token=session_token).filter(content_id=content_id)


class QuestionAnswer(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="question_answers"
    )
    session_token = models.UUIDField(null=True, blank=True)
    content_id = models.UUIDField(help_text="The lens or test the question belongs to.")
    content_type = models.CharField(max_length=10, choices=[(t.value, t.label) for t in ANSWER_CONTENT_TYPES])
    question_key = models.CharField(max_length=64, help_text="The question's stable key in the lens or test.")
    question_text = models.TextField(help_text="The question as the learner saw it when answering.")
    text = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(default=timezone.now)
    feedback = models.TextField(blank=True, help_text="The tutor's last feedback on this answer.")
    feedback_requested_at = models.DateTimeField(null=True, blank=True)
    feedback_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Set when claiming found the account's own answer to the same question; kept, not current.",
    )

    objects = QuestionAnswerQuerySet.as_manager()

    class Meta:
        ordering = ["content_id", "question_key", "-updated_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False) & Q(session_token__isnull=True))
                | (Q(user__isnull=True) & Q(session_token__isnull=False)),
                name="question_answer_one_owner",
            ),
            models.CheckConstraint(
                condition=Q(content_type__in=[t.value for t in ANSWER_CONTENT_TYPES]),
                name="question_answer_valid_content_type",
            ),
            models.UniqueConstraint(
                fields=["user", "content_id", "question_key"],
                condition=Q(user__isnull=False, superseded_at__isnull=True),
                name="question_answer_one_current_per_user",
            ),
            models.UniqueConstraint(
                fields=["session_token", "content_id", "question_key"],
                condition=Q(session_token__isnull=False, superseded_at__isnull=True),
                name="question_answer_one_current_per_token",
            ),
        ]
        indexes = [models.Index(fields=["session_token"], name="question_answer_token_idx")]

    def __str__(self) -> str:
        owner = f"user {self.user_id}" if self.user_id else f"token {self.session_token}"
        return f"Answer of {owner} to {self.question_key}"

    @property
    def feedback_is_current(self) -> bool:
        """Whether the feedback was given on the answer as it is now (not an earlier version)."""
        return bool(self.feedback) and self.feedback_at is not None and self.feedback_at >= self.updated_at


class FeedbackRequest(models.Model):
    """One request for the tutor's feedback on an answer: what the rate limit counts, since one answer may
    be asked about again and again (its `feedback_requested_at` keeps only the latest)."""

    answer = models.ForeignKey(QuestionAnswer, on_delete=models.CASCADE, related_name="feedback_requests")
    requested_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["requested_at", "id"]

    def __str__(self) -> str:
        return f"Feedback asked on answer {self.answer_id} at {self.requested_at:%Y-%m-%d %H:%M}"
