"""Operational records, kept apart from learners' data: rate-limit counts (`ops.ratelimit`)."""

from django.db import models


class RateLimitHit(models.Model):
    """One counted action of one identity (a tutor call, a message, an answer saved), for its window only.

    Not learner data: "Delete my data" leaves these rows (so it cannot reset a limit), and each row is
    deleted once its window has passed. `identity` names the learner as "user 12" or "token <uuid>".
    """

    scope = models.CharField(max_length=40, help_text="What is limited, e.g. tutor-call.")
    identity = models.CharField(max_length=100, help_text='Who: "user 12" or "token <uuid>".')
    at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True, help_text="When this action stops counting.")

    class Meta:
        verbose_name = "rate-limit record"
        verbose_name_plural = "rate-limit records"
        indexes = [models.Index(fields=["scope", "identity", "at"], name="ops_ratelimit_window_idx")]

    def __str__(self) -> str:
        return f"{self.scope} by {self.identity} at {self.at:%Y-%m-%d %H:%M:%S}"
