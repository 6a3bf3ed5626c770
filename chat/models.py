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
from django.db.models import Count, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from content_loader.models import LEARNER_CONTENT_TYPES, ContentType

NIL_UUID = uuid.UUID(int=0)
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


def exactly_one_owner(name: str) -> models.CheckConstraint:
    """A learner's row belongs to an account or to an anonymous token, never both or neither."""
    return models.CheckConstraint(
        condition=(Q(user__isnull=False) & Q(session_token__isnull=True))
        | (Q(user__isnull=True) & Q(session_token__isnull=False)),
        name=name,
    )


def owner_text(row) -> str:
    """Who owns a learner's row, for admin and logs: "user 7" or "token <uuid>"."""
    return f"user {row.user_id}" if row.user_id else f"token {row.session_token}"


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
        max_length=10, null=True, blank=True, choices=[(t.value, t.label) for t in LEARNER_CONTENT_TYPES]
    )
    started_at = models.DateTimeField(auto_now_add=True)
    last_active_at = models.DateTimeField(auto_now_add=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    objects = ChatSessionQuerySet.as_manager()

    class Meta:
        ordering = ["-last_active_at"]
        constraints = [
            exactly_one_owner("chat_session_one_owner"),
            models.CheckConstraint(
                condition=Q(content_type__isnull=True) | Q(content_type__in=[t.value for t in LEARNER_CONTENT_TYPES]),
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
        owner = owner_text(self)
        return f"Chat {self.pk} of {owner}"


class ReplyState(models.TextChoices):
    COMPLETE = "complete", "Complete"
    GENERATING = "generating", "Being generated"
    INTERRUPTED = "interrupted", "Interrupted"


class GeneratedText(models.Model):
    """Text a model writes into a row while it streams (`chat.replies`): a tutor reply, feedback, a roleplay turn.

    `state` is `generating` while a generator (named by `generator`: host, process and thread) holds the
    row's lease; each piece it writes extends `lease_until`, so a row still `generating` after its lease
    ran out belongs to a generator that died (a server stopped) and is taken as interrupted. Text that
    arrived before a failure is kept (`interrupted`, with `problem` saying why).
    """

    text = models.TextField(blank=True)
    state = models.CharField(max_length=12, choices=ReplyState.choices, default=ReplyState.COMPLETE)
    problem = models.TextField(blank=True, help_text="Why the reply was interrupted, as the learner is told.")
    generator = models.CharField(max_length=200, blank=True, help_text="host:pid:thread generating the text.")
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_generating(self) -> bool:
        """Still being written by a live generator (its lease has not run out)."""
        return (
            self.state == ReplyState.GENERATING and self.lease_until is not None and self.lease_until > timezone.now()
        )

    @property
    def is_interrupted(self) -> bool:
        """Failed part-way, or its generator died: what arrived is kept, and it may be asked again."""
        return self.state == ReplyState.INTERRUPTED or (self.state == ReplyState.GENERATING and not self.is_generating)


class ChatMessage(GeneratedText):
    class Role(models.TextChoices):
        USER = "user", "Learner"
        ASSISTANT = "assistant", "Tutor"

    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=10, choices=Role.choices)
    lens_id = models.UUIDField(null=True, blank=True, help_text="The lens the message was sent from.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(role__in=["user", "assistant"]), name="chat_message_valid_role"),
            # One reply generated at a time per conversation (two tabs never ask the tutor twice).
            models.UniqueConstraint(
                fields=["session"], condition=Q(state=ReplyState.GENERATING), name="chat_message_one_generating"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.text[:60]}"

    @property
    def counts_as_answer(self) -> bool:
        """A tutor message that answers the learner: complete (an interrupted or unfinished one does not)."""
        return self.role == self.Role.ASSISTANT and self.state == ReplyState.COMPLETE


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
        """The learner's answers on one lens or test page (current and superseded), oldest first, each with
        its latest feedback request's state (`latest_feedback_*`), in the same query."""
        latest = FeedbackRequest.objects.filter(answer=OuterRef("pk")).order_by("-requested_at", "-id")
        fields = {name: Subquery(latest.values(name)[:1]) for name in ("id", "state", "text", "problem", "lease_until")}
        return (
            self.owned_by(user_id=user_id, session_token=session_token)
            .filter(content_id=content_id)
            .annotate(**{f"latest_feedback_{name}": value for name, value in fields.items()})
        )


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
            exactly_one_owner("question_answer_one_owner"),
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
        owner = owner_text(self)
        return f"Answer of {owner} to {self.question_key}"

    @property
    def unfinished_feedback(self) -> "FeedbackRequest | None":
        """The latest feedback request when it is still being generated or was interrupted (from
        `for_item_page`'s annotations; None otherwise, or without them)."""
        state = getattr(self, "latest_feedback_state", None)
        if state in (None, ReplyState.COMPLETE):
            return None
        return FeedbackRequest(
            pk=self.latest_feedback_id,
            answer=self,
            state=state,
            text=self.latest_feedback_text,
            problem=self.latest_feedback_problem,
            lease_until=self.latest_feedback_lease_until,
        )

    @property
    def feedback_is_current(self) -> bool:
        """Whether the feedback was given on the answer as it is now (not an earlier version)."""
        return bool(self.feedback) and self.feedback_at is not None and self.feedback_at >= self.updated_at


class FeedbackRequest(GeneratedText):
    """One request for the tutor's feedback on an answer, and the feedback as it is generated (`text`).

    What the rate limit counts, since one answer may be asked about again and again (its
    `feedback_requested_at` keeps only the latest). A finished request's text is copied to the answer's
    `feedback`; an interrupted one keeps what arrived here.
    """

    answer = models.ForeignKey(QuestionAnswer, on_delete=models.CASCADE, related_name="feedback_requests")
    requested_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["requested_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["answer"], condition=Q(state=ReplyState.GENERATING), name="feedback_request_one_generating"
            ),
        ]

    def __str__(self) -> str:
        return f"Feedback asked on answer {self.answer_id} at {self.requested_at:%Y-%m-%d %H:%M}"


class AnswerDraftQuerySet(models.QuerySet):
    def owned_by(self, *, user_id: int | None, session_token: uuid.UUID | None) -> "AnswerDraftQuerySet":
        """Drafts of one learner: the account when given, else the anonymous token."""
        return self.filter(owner_q(user_id=user_id, session_token=session_token))

    def for_item_page(
        self, *, user_id: int | None, session_token: uuid.UUID | None, content_id: uuid.UUID
    ) -> "AnswerDraftQuerySet":
        """The learner's drafts on one lens or test page."""
        return self.owned_by(user_id=user_id, session_token=session_token).filter(content_id=content_id)


class AnswerDraft(models.Model):
    """What the learner has typed into a question box and not saved as their answer yet.

    Saved as they type (and by a beacon when they leave the page), one row per owner, lens or test and
    question; restored into the box on return, on any device. Never an answer: it completes nothing and
    the saved answer is untouched. Saving the answer removes the draft.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="answer_drafts"
    )
    session_token = models.UUIDField(null=True, blank=True)
    content_id = models.UUIDField(help_text="The lens or test the question belongs to.")
    content_type = models.CharField(max_length=10, choices=[(t.value, t.label) for t in ANSWER_CONTENT_TYPES])
    question_key = models.CharField(max_length=64)
    text = models.TextField(blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = AnswerDraftQuerySet.as_manager()

    class Meta:
        ordering = ["content_id", "question_key"]
        constraints = [
            exactly_one_owner("answer_draft_one_owner"),
            models.UniqueConstraint(
                fields=["user", "content_id", "question_key"],
                condition=Q(user__isnull=False),
                name="answer_draft_one_per_user",
            ),
            models.UniqueConstraint(
                fields=["session_token", "content_id", "question_key"],
                condition=Q(session_token__isnull=False),
                name="answer_draft_one_per_token",
            ),
        ]
        indexes = [models.Index(fields=["session_token"], name="answer_draft_token_idx")]

    def __str__(self) -> str:
        owner = owner_text(self)
        return f"Draft of {owner} for {self.question_key}"


class AnswerStartQuerySet(models.QuerySet):
    def owned_by(self, *, user_id: int | None, session_token: uuid.UUID | None) -> "AnswerStartQuerySet":
        """Starts of one learner: the account when given, else the anonymous token."""
        return self.filter(owner_q(user_id=user_id, session_token=session_token))


class AnswerStart(models.Model):
    """When a learner pressed "Start" on a timed question (`max-time::`): the countdown runs from here.

    One row per owner, lens or test and question, kept on the server so a reload or another device
    continues the same countdown, and so the server can refuse a save after the deadline (plus
    ANSWER_DEADLINE_GRACE_SECONDS). Never restarted: pressing "Start" again returns the first start.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="answer_starts"
    )
    session_token = models.UUIDField(null=True, blank=True)
    content_id = models.UUIDField(help_text="The lens or test the question belongs to.")
    question_key = models.CharField(max_length=64)
    started_at = models.DateTimeField(default=timezone.now)

    objects = AnswerStartQuerySet.as_manager()

    class Meta:
        ordering = ["content_id", "question_key"]
        constraints = [
            exactly_one_owner("answer_start_one_owner"),
            models.UniqueConstraint(
                fields=["user", "content_id", "question_key"],
                condition=Q(user__isnull=False),
                name="answer_start_one_per_user",
            ),
            models.UniqueConstraint(
                fields=["session_token", "content_id", "question_key"],
                condition=Q(session_token__isnull=False),
                name="answer_start_one_per_token",
            ),
        ]
        indexes = [models.Index(fields=["session_token"], name="answer_start_token_idx")]

    def __str__(self) -> str:
        owner = owner_text(self)
        return f"Start of {owner} on {self.question_key}"
