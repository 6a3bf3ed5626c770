"""Scoring a subject with the model: the prompt, the structured-output call, and the stored result.

One request per subject version to the tutor's OpenAI-compatible API (`TUTOR_BASE_URL`, `TUTOR_API_KEY`)
with the `ASSESSMENT_MODEL` (default `TUTOR_MODEL`), asking for JSON by a json_schema `response_format`.
The call is system-initiated: it is not counted against the learner's chat limits. Superseded versions
are skipped when the job runs (an answer saved 100 times makes 100 cheap no-op jobs and one model call
for the version current when its job runs), and jobs run one at a time per worker, never concurrently
per save.
"""

from __future__ import annotations

import hashlib
import json

import openai
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from assessment import subjects
from assessment.models import Assessment, AssessmentState
from chat.tutor import _client

PROMPT_VERSION = "1"

ASSESSOR_ROLE = (
    "You assess a learner's work on an online course against a rubric. Score it from 1 (far from the "
    "learning outcome) to 5 (fully meets it). Be fair and specific; reasoning is two or three sentences."
)

RESPONSE_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["score", "reasoning", "dimensions", "key_observations"],
    "properties": {
        "score": {"type": "integer", "minimum": 1, "maximum": 5},
        "reasoning": {"type": "string"},
        "dimensions": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "score", "note"],
                "properties": {
                    "name": {"type": "string"},
                    "score": {"type": "integer", "minimum": 1, "maximum": 5},
                    "note": {"type": "string"},
                },
            },
        },
        "key_observations": {"type": "array", "items": {"type": "string"}},
    },
}


class AssessmentFailed(Exception):
    """The model could not be asked, or answered something that is not a valid assessment (retried)."""


def learning_outcome_statement(learning_outcome_id) -> str:
    from content_loader.models import ContentItem

    if learning_outcome_id is None:
        return ""
    item = ContentItem.objects.filter(pk=learning_outcome_id).only("body", "title").first()
    if item is None:
        return ""
    return item.body.get("statement") or item.title


def prompt_version(material: subjects.Material, statement: str) -> str:
    """The prompt's version plus a hash of the rubric and outcome: a changed rubric is scored afresh."""
    digest = hashlib.sha256(f"{material.rubric}\0{statement}".encode()).hexdigest()[:12]
    return f"{PROMPT_VERSION}-{digest}"


def messages_for(material: subjects.Material, statement: str) -> list[dict]:
    system = ASSESSOR_ROLE + f"\n\nRubric:\n{material.rubric}"
    if statement:
        system += f"\n\nThe learning outcome:\n{statement}"
    user = f"{material.prompt_label}:\n{material.prompt_text}\n\n{material.response_label}:\n{material.response_text}"
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def model_name() -> str:
    return settings.ASSESSMENT_MODEL or settings.TUTOR_MODEL


def enqueue(kind: str, subject_id: int, *, force: bool = False) -> Assessment | None:
    """Create the queued row for the subject's current version and enqueue its job; None if nothing to do.

    An existing row for the same version and prompt is reused: done stays done (unless `force`, which
    re-runs a failed or done row), queued is not queued twice.
    """
    from assessment.jobs import assess

    material = subjects.material_for(kind, subject_id)
    if material is None:
        return None
    statement = learning_outcome_statement(material.learning_outcome_id)
    fields = {
        "user_id": material.user_id,
        "session_token": material.session_token,
        "content_id": material.content_id,
        "segment_key": material.segment_key,
        "learning_outcome_id": material.learning_outcome_id,
    }
    try:
        with transaction.atomic():
            row, created = Assessment.objects.get_or_create(
                subject_kind=kind,
                subject_id=subject_id,
                version=material.version,
                prompt_version=prompt_version(material, statement),
                defaults=fields,
            )
    except IntegrityError:  # a parallel save created it a moment ago
        return None
    if not created:
        rerun = force and row.state in {AssessmentState.DONE, AssessmentState.FAILED}
        if not rerun:
            return None
        Assessment.objects.filter(pk=row.pk).update(state=AssessmentState.QUEUED, error="", attempts=0)
    assess.enqueue(row.pk)
    return row


def _parse(raw: str) -> dict:
    try:
        data = json.loads(raw)
    except (TypeError, ValueError) as error:
        raise AssessmentFailed(f"The model's answer is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise AssessmentFailed("The model's answer is not a JSON object.")
    score = data.get("score")
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise AssessmentFailed(f"The model's score {score!r} is not a whole number from 1 to 5.")
    dimensions = []
    for dimension in data.get("dimensions") or []:
        if not isinstance(dimension, dict):
            raise AssessmentFailed("A dimension in the model's answer is not an object.")
        value = dimension.get("score")
        if value is not None and (not isinstance(value, int) or not 1 <= value <= 5):
            raise AssessmentFailed(f"The dimension score {value!r} is not a whole number from 1 to 5.")
        dimensions.append(
            {"name": str(dimension.get("name", "")), "score": value, "note": str(dimension.get("note", ""))}
        )
    observations = [str(o) for o in data.get("key_observations") or []]
    return {
        "score": score,
        "reasoning": str(data.get("reasoning", "")),
        "dimensions": dimensions,
        "observations": observations,
    }


def ask_model(messages: list[dict]) -> str:
    if not (settings.TUTOR_BASE_URL and model_name()):
        raise AssessmentFailed("No model is configured (TUTOR_BASE_URL and ASSESSMENT_MODEL or TUTOR_MODEL).")
    if connection.in_atomic_block:
        raise RuntimeError("The model must not be called inside a database transaction.")
    client = _client(settings.TUTOR_BASE_URL, settings.TUTOR_API_KEY, settings.TUTOR_TIMEOUT_SECONDS)
    try:
        completion = client.chat.completions.create(
            model=model_name(),
            messages=messages,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "assessment", "strict": True, "schema": RESPONSE_SCHEMA},
            },
        )
    except openai.APIStatusError as error:
        raise AssessmentFailed(f"The model server answered HTTP {error.status_code}.") from None
    except openai.APITimeoutError:
        raise AssessmentFailed("The model server took too long to answer.") from None
    except openai.OpenAIError as error:
        raise AssessmentFailed(f"The model server could not be asked: {error}") from None
    if not completion.choices:
        raise AssessmentFailed("The model's answer has no choices.")
    return completion.choices[0].message.content or ""


def run(assessment_id: int, *, final_attempt: bool) -> str:
    """Score one queued row: returns its new state. Raises AssessmentFailed to be retried."""
    row = Assessment.objects.filter(pk=assessment_id).first()
    if row is None or row.state in {AssessmentState.DONE, AssessmentState.SUPERSEDED}:
        return row.state if row else "gone"  # run twice: the score is stored once
    material = subjects.material_for(row.subject_kind, row.subject_id)
    if material is None or not material.is_current or material.version != row.version:
        Assessment.objects.filter(pk=row.pk).update(state=AssessmentState.SUPERSEDED)
        return AssessmentState.SUPERSEDED
    statement = learning_outcome_statement(material.learning_outcome_id)
    attempts = row.attempts + 1
    Assessment.objects.filter(pk=row.pk).update(state=AssessmentState.RUNNING, attempts=attempts)
    raw = ""
    try:
        raw = ask_model(messages_for(material, statement))
        result = _parse(raw)
    except AssessmentFailed as error:
        state = AssessmentState.FAILED if final_attempt else AssessmentState.QUEUED
        Assessment.objects.filter(pk=row.pk).update(state=state, error=str(error), raw_response=raw, model=model_name())
        raise
    Assessment.objects.filter(pk=row.pk).update(
        state=AssessmentState.DONE,
        error="",
        raw_response=raw,
        model=model_name(),
        assessed_at=timezone.now(),
        score=result["score"],
        reasoning=result["reasoning"],
        dimensions=result["dimensions"],
        observations=result["observations"],
    )
    return AssessmentState.DONE
