"""Roleplay conversations: a learner talks with a character an author scripted in a `#### Roleplay` segment.

An attempt belongs to exactly one owner (an account or an anonymous token) and to one roleplay, named by
the segment's `id::` UUID (stable across edits and moves of the lens), and records the lens or test it was
held on. Each owner has at most one active (not archived) attempt per roleplay; "Try again" archives it,
still readable under "Past attempts". A finished attempt takes no more messages.

The character's opening message is copied into the attempt as its first message when the attempt starts,
so the transcript reads as the learner saw it even after the author edits the segment. The character's
replies are generated into `RoleplayMessage` rows by `chat.replies` (a `GeneratedText`), like the tutor's.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from chat.models import ANSWER_CONTENT_TYPES, GeneratedText, ReplyState, exactly_one_owner, owner_q, owner_text
from learners import Learner


class RoleplayAttemptQuerySet(models.QuerySet):
    def active(self) -> "RoleplayAttemptQuerySet":
        """Attempts not archived by "Try again"."""
        return self.filter(archived_at__isnull=True)

    def finished(self) -> "RoleplayAttemptQuerySet":
        """Attempts the learner finished ("Finish conversation")."""
        return self.filter(finished_at__isnull=False)

    def owned_by(self, learner: Learner) -> "RoleplayAttemptQuerySet":
        """Attempts of one learner: the account when given, else the anonymous token."""
        return self.filter(owner_q(learner))

    def for_item_page(self, learner: Learner, *, roleplay_ids: list[uuid.UUID]) -> "RoleplayAttemptQuerySet":
        """Every attempt of the learner at the page's roleplays, oldest first, with messages and feedback
        (3 queries for all the roleplays of a page)."""
        return (
            self.owned_by(learner)
            .filter(roleplay_id__in=roleplay_ids)
            .prefetch_related("messages", "feedback_requests")
            .order_by("started_at", "id")
        )


class RoleplayAttempt(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="roleplay_attempts"
    )
    session_token = models.UUIDField(null=True, blank=True)
    roleplay_id = models.UUIDField(help_text="The `#### Roleplay` segment's `id::`.")
    content_id = models.UUIDField(help_text="The lens or test the roleplay was held on.")
    content_type = models.CharField(max_length=10, choices=[(t.value, t.label) for t in ANSWER_CONTENT_TYPES])
    scenario = models.TextField(blank=True, help_text="The learner's scenario as shown when the attempt started.")
    started_at = models.DateTimeField(auto_now_add=True)
    last_active_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    objects = RoleplayAttemptQuerySet.as_manager()

    class Meta:
        ordering = ["-last_active_at"]
        constraints = [
            exactly_one_owner("roleplay_attempt_one_owner"),
            models.CheckConstraint(
                condition=Q(content_type__in=[t.value for t in ANSWER_CONTENT_TYPES]),
                name="roleplay_attempt_valid_content_type",
            ),
            models.UniqueConstraint(
                fields=["user", "roleplay_id"],
                condition=Q(user__isnull=False, archived_at__isnull=True),
                name="roleplay_attempt_one_active_per_user",
            ),
            models.UniqueConstraint(
                fields=["session_token", "roleplay_id"],
                condition=Q(session_token__isnull=False, archived_at__isnull=True),
                name="roleplay_attempt_one_active_per_token",
            ),
        ]
        indexes = [models.Index(fields=["session_token"], name="roleplay_attempt_token_idx")]

    def __str__(self) -> str:
        owner = owner_text(self)
        return f"Roleplay attempt {self.pk} of {owner}"

    @property
    def is_finished(self) -> bool:
        return self.finished_at is not None


class RoleplayMessage(GeneratedText):
    class Role(models.TextChoices):
        USER = "user", "Learner"
        ASSISTANT = "assistant", "Character"

    attempt = models.ForeignKey(RoleplayAttempt, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=10, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(role__in=["user", "assistant"]), name="roleplay_message_valid_role"),
            # One character reply generated at a time per attempt (two tabs never ask the model twice).
            models.UniqueConstraint(
                fields=["attempt"], condition=Q(state=ReplyState.GENERATING), name="roleplay_message_one_generating"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.text[:60]}"

    @property
    def counts_as_answer(self) -> bool:
        """A character message that answers the learner: complete (an interrupted one does not)."""
        return self.role == self.Role.ASSISTANT and self.state == ReplyState.COMPLETE


class RoleplayFeedback(GeneratedText):
    """The tutor's feedback on a finished attempt's transcript, as it is generated (`text`).

    One row per request (what the rate limit counts); the latest complete one is what the learner sees.
    """

    attempt = models.ForeignKey(RoleplayAttempt, on_delete=models.CASCADE, related_name="feedback_requests")
    requested_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["requested_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["attempt"], condition=Q(state=ReplyState.GENERATING), name="roleplay_feedback_one_generating"
            ),
        ]

    def __str__(self) -> str:
        return f"Feedback on roleplay attempt {self.attempt_id}"
