"""The background job that scores one queued assessment."""

from __future__ import annotations

from assessment import services
from assessment.models import Assessment
from jobs.retry import job

ATTEMPTS = 4


@job(attempts=ATTEMPTS, backoff_seconds=30)
def assess(assessment_id: int) -> str:
    """Ask the model for the score (30 s, 60 s, 120 s between tries); then the row is marked failed."""
    attempts = Assessment.objects.filter(pk=assessment_id).values_list("attempts", flat=True).first() or 0
    return services.run(assessment_id, final_attempt=attempts + 1 >= ATTEMPTS)
