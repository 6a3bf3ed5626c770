"""Learner progress: one row per learner and content UUID.

`content_id` is a plain UUID, not a foreign key to the registry: progress on content that was retired,
replaced or not yet synced stays valid. A row belongs to exactly one owner, an account or an anonymous
token; the partial unique constraints make "one row per owner and content" a database fact, so every
write path can be an upsert.

Time is credited to the item that was open (a lens, in practice); module and course time are sums over
their lenses and never stored twice. Module and learning-outcome rows only record *when* they were
completed; their status on a page is always derived from the lens rows.
"""

from django.conf import settings
from django.db import models
from django.db.models import BigIntegerField, Case, OuterRef, Q, Subquery, UUIDField, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from content_loader.models import LEARNER_CONTENT_TYPES, ReplacedId
from learners import Learner


def belongs_to(learner: Learner) -> Q:
    """The rows of a learner in any table owned by `user` or `session_token` (progress, chats, answers, ...):
    an account's own rows and those that late requests wrote under the tokens it claimed (`ClaimedToken`);
    a token's rows. The one statement of that rule; raw SQL spells it once more in `progress.sql._owned`."""
    if learner.user_id is not None:
        claimed = ClaimedToken.objects.filter(user_id=learner.user_id).values("token")
        return Q(user_id=learner.user_id) | Q(session_token__in=claimed)
    return Q(session_token=learner.session_token)


class UserContentProgressQuerySet(models.QuerySet):
    def owned_by(self, learner: Learner) -> "UserContentProgressQuerySet":
        """Rows of one learner; an account also sees rows of the tokens it claimed (late arrivals)."""
        return self.filter(belongs_to(learner))

    def completed(self) -> "UserContentProgressQuerySet":
        """Rows whose item is completed."""
        return self.filter(completed_at__isnull=False)

    def with_current_id(self) -> "UserContentProgressQuerySet":
        """Annotate `current_id`: the item the row counts for, the newer item when one `replaces:` its UUID."""
        replacing = ReplacedId.objects.filter(old_id=OuterRef("content_id")).values("item_id")[:1]
        return self.annotate(current_id=Coalesce(Subquery(replacing), "content_id", output_field=UUIDField()))

    def for_items(self, item_ids) -> "UserContentProgressQuerySet":
        """Rows that count for these current items: under their UUIDs or under UUIDs they replace.

        `item_ids`: a query of ids, or ids (sent as one parameter: `ops.lookups.AnyOf`)."""
        lookup = "in" if isinstance(item_ids, models.QuerySet) else "any_of"
        replaced = ReplacedId.objects.filter(**{f"item__id__{lookup}": item_ids}).values("old_id")
        return self.filter(Q(**{f"content_id__{lookup}": item_ids}) | Q(content_id__in=replaced))

    def with_learner(self) -> "UserContentProgressQuerySet":
        """Annotate the learner each row belongs to (`belongs_to` read the other way): `learner_user_id`, the
        account (its own, or the one that claimed its token), else `learner_token`, the row's token."""
        claimer = ClaimedToken.objects.filter(token=OuterRef("session_token")).values("user_id")[:1]
        return self.annotate(
            learner_user_id=Coalesce("user_id", Subquery(claimer), output_field=BigIntegerField())
        ).annotate(
            learner_token=Case(When(learner_user_id__isnull=True, then="session_token"), output_field=UUIDField())
        )


class UserContentProgress(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="content_progress",
    )
    session_token = models.UUIDField(null=True, blank=True, help_text="The anonymous learner's token.")
    content_id = models.UUIDField(help_text="The content's permanent UUID (not a foreign key).")
    content_type = models.CharField(max_length=10, choices=[(t.value, t.label) for t in LEARNER_CONTENT_TYPES])
    content_title = models.CharField(max_length=500, blank=True, help_text="Title when the row was written.")
    started_at = models.DateTimeField(default=timezone.now)
    time_to_complete_s = models.IntegerField(
        default=0, help_text="Active seconds credited up to completion; frozen once completed."
    )
    total_time_spent_s = models.IntegerField(default=0, help_text="All active seconds credited, before and after.")
    completed_at = models.DateTimeField(null=True, blank=True)
    last_heartbeat_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=(
            "Time up to which heartbeats were credited: the last heartbeat, or up to a few seconds later "
            "when overlapping heartbeats (two tabs) used the slack, so that the slack never adds up."
        ),
    )

    objects = UserContentProgressQuerySet.as_manager()

    class Meta:
        verbose_name = "progress row"
        verbose_name_plural = "progress rows"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "content_id"],
                condition=Q(user__isnull=False),
                name="progress_unique_user_content",
            ),
            models.UniqueConstraint(
                fields=["session_token", "content_id"],
                condition=Q(session_token__isnull=False),
                name="progress_unique_token_content",
            ),
            models.CheckConstraint(
                condition=(Q(user__isnull=False) & Q(session_token__isnull=True))
                | (Q(user__isnull=True) & Q(session_token__isnull=False)),
                name="progress_one_owner",
            ),
            models.CheckConstraint(
                condition=Q(content_type__in=[t.value for t in LEARNER_CONTENT_TYPES]),
                name="progress_valid_content_type",
            ),
            models.CheckConstraint(
                condition=Q(time_to_complete_s__gte=0) & Q(total_time_spent_s__gte=0),
                name="progress_non_negative_times",
            ),
        ]
        indexes = [models.Index(fields=["content_id"], name="progress_content_idx")]

    def __str__(self) -> str:
        return f"{self.owner_label}: {self.content_type} {self.content_title or self.content_id}"

    @property
    def owner_label(self) -> str:
        return Learner(user_id=self.user_id, session_token=self.session_token).label

    @property
    def is_completed(self) -> bool:
        return self.completed_at is not None


class LearnerClock(models.Model):
    """One learner's heartbeat clock: the time up to which their heartbeats were credited, whatever item.

    A learner is in one place at a time, so every heartbeat of one learner (an account or a token),
    whichever content it names, credits at most the wall-clock time since that learner's previous
    heartbeat plus a few seconds of slack; `credited_until` moves forward by what was credited, so the
    slack never adds up. Written by the heartbeat's one SQL statement (progress.sql.heartbeat_sql), which
    reads back `last_credit_s` to credit the item's row.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    session_token = models.UUIDField(null=True, blank=True)
    credited_until = models.DateTimeField(
        help_text="Heartbeats were credited up to here (at most a few seconds ahead)."
    )
    last_credit_s = models.IntegerField(default=0, help_text="Seconds the learner's last heartbeat credited.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(user__isnull=False), name="progress_clock_unique_user"
            ),
            models.UniqueConstraint(
                fields=["session_token"], condition=Q(session_token__isnull=False), name="progress_clock_unique_token"
            ),
            models.CheckConstraint(
                condition=(Q(user__isnull=False) & Q(session_token__isnull=True))
                | (Q(user__isnull=True) & Q(session_token__isnull=False)),
                name="progress_clock_one_owner",
            ),
        ]

    def __str__(self) -> str:
        return f"{Learner(user_id=self.user_id, session_token=self.session_token).label}: until {self.credited_until}"


class ClaimedToken(models.Model):
    """An anonymous token that an account claimed: dead from then on.

    A request carrying a claimed token has no identity (401 on the API; a page starts a fresh anonymous
    learner), so a copied cookie can never write into or read the account. Only a request already past
    that check when the claim commits (a heartbeat from another tab in the same instant) can still write
    a row under the token; reads for the account include such rows and its next claim moves them, so
    they are never lost.
    """

    token = models.UUIDField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="claimed_tokens")
    claimed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.token} → user {self.user_id}"


class ProgressAudit(models.Model):
    """An append-only record of a correction to a progress row, with the values before and after.

    Staff make corrections in admin; `progress_doctor --fix` makes repairs (no `actor` then). A merge
    record's `after` names the row the values went to; the merged row itself is gone.
    """

    class Action(models.TextChoices):
        MARK_COMPLETE = "mark_complete", "Marked complete"
        RESET_COMPLETION = "reset_completion", "Reset completion"
        EDIT = "edit", "Edited by hand"
        UNDO = "undo", "Undone"
        DOCTOR_STATUS = "doctor_status", "Completion repaired by progress_doctor"
        DOCTOR_MERGE = "doctor_merge", "Replaced UUID merged by progress_doctor"

    # Not a foreign key: the record outlives the row (a claim merges anonymous rows away).
    progress_id = models.BigIntegerField(db_index=True)
    learner = models.CharField(max_length=100, help_text="The row's owner when the change was made.")
    content_id = models.UUIDField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="progress_audits"
    )
    actor_username = models.CharField(max_length=150, help_text="Kept if the staff account is deleted.")
    created_at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=20, choices=Action.choices)
    reason = models.TextField()
    before = models.JSONField(help_text="The changed fields before the change.")
    after = models.JSONField(help_text="The changed fields after the change.")
    undoes = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="undone_by")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="progress_audit_reason_required"),
            models.CheckConstraint(
                condition=Q(action="undo", undoes__isnull=False) | (~Q(action="undo") & Q(undoes__isnull=True)),
                name="progress_audit_undo_names_record",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} of row {self.progress_id} by {self.actor_username}"


class LearnerDataAudit(models.Model):
    """A record of an export or an erasure of a learner's data: who, when, which learner, how many rows.

    The learner is named as "user 12" or "token <uuid>" only: an erasure removes the name and email.
    """

    class Action(models.TextChoices):
        EXPORT = "export", "Exported by staff"
        ERASE = "erase", "Erased"

    action = models.CharField(max_length=10, choices=Action.choices)
    learner = models.CharField(max_length=100)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="learner_data_audits"
    )
    actor_username = models.CharField(
        max_length=150, blank=True, help_text="The staff member; empty when the learner acted on their own data."
    )
    created_at = models.DateTimeField(default=timezone.now)
    counts = models.JSONField(default=dict, blank=True, help_text="For an erasure: the rows removed, by kind.")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "learner data record"
        verbose_name_plural = "learner data records"

    def __str__(self) -> str:
        who = self.actor_username or "the learner"
        return f"{self.get_action_display()}: {self.learner} by {who}"


class LegacyImport(models.Model):
    """A `module_sessions` row of the old platform that `import_legacy_sessions` imported: never again.

    It keeps only ids, no learner data, and outlives an erasure of the learner, so that importing the
    same export again cannot bring erased data back.
    """

    legacy_id = models.CharField(max_length=100, unique=True, help_text="The row's id in the old platform.")
    imported_at = models.DateTimeField(default=timezone.now)
    module_id = models.UUIDField(help_text="The module the session was found under.")
    chat_session_id = models.BigIntegerField(null=True, blank=True, help_text="The conversation made from it.")
    completion_progress_id = models.BigIntegerField(
        null=True,
        blank=True,
        db_index=True,
        help_text="The module row that holds its completion (progress_doctor keeps it).",
    )

    def __str__(self) -> str:
        return f"legacy session {self.legacy_id}"
