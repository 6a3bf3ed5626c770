"""AI scores of what learners wrote: one row per subject version and prompt version.

A subject is something a learner produced that a rubric applies to: `answer` (a chat `QuestionAnswer`)
today; see `assessment.subjects` for how kinds are registered. `version` identifies what was scored (for
an answer: a hash of its text), `prompt_version` the prompt and rubric it was scored with, so a job run
twice stores one score and a changed rubric is scored afresh.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class AssessmentState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    SUPERSEDED = "superseded", "Superseded (a newer version was saved before it ran)"


class AssessmentQuerySet(models.QuerySet):
    def scored(self) -> "AssessmentQuerySet":
        return self.filter(state=AssessmentState.DONE, score__isnull=False)

    def owned_by(self, q: Q) -> "AssessmentQuerySet":
        return self.filter(q)


class Assessment(models.Model):
    subject_kind = models.CharField(max_length=20, help_text="What was scored: a registered kind (answer, ...).")
    subject_id = models.BigIntegerField(help_text="The id of the scored row in its kind's table.")
    version = models.CharField(max_length=64, help_text="Which version of the subject was scored.")
    prompt_version = models.CharField(max_length=64, help_text="The prompt and rubric it was scored with.")
    # The learner, so that their data export and erasure find their scores whatever the kind.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="assessments"
    )
    session_token = models.UUIDField(null=True, blank=True)
    content_id = models.UUIDField(help_text="The lens or test the subject belongs to.")
    segment_key = models.CharField(max_length=64, help_text="The question's key (or the roleplay's id).")
    learning_outcome_id = models.UUIDField(null=True, blank=True)
    state = models.CharField(max_length=12, choices=AssessmentState.choices, default=AssessmentState.QUEUED)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    reasoning = models.TextField(blank=True)
    dimensions = models.JSONField(default=list, blank=True)
    observations = models.JSONField(default=list, blank=True)
    model = models.CharField(max_length=200, blank=True)
    raw_response = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    assessed_at = models.DateTimeField(null=True, blank=True)

    objects = AssessmentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject_kind", "subject_id", "version", "prompt_version"], name="assessment_one_per_version"
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=1, score__lte=5), name="assessment_score_1_to_5"
            ),
            models.CheckConstraint(condition=Q(state__in=AssessmentState.values), name="assessment_valid_state"),
        ]
        indexes = [
            models.Index(fields=["subject_kind", "subject_id"]),
            models.Index(fields=["content_id", "segment_key"]),
        ]

    def __str__(self) -> str:
        score = f"{self.score}/5" if self.score else self.get_state_display()
        return f"{self.subject_kind} {self.subject_id}: {score}"
