"""What can be assessed: each subject kind says how to find its material and when it is saved.

A kind is a name and a function `material(subject_id) -> Material | None` (None: the subject is gone or
has no rubric). `register(kind, material)` adds one; `queue(kind, subject_id)` (on commit) creates the
queued `Assessment` row and enqueues the job, which calls `material` again when it runs, so a subject
edited in between is scored as it is then (and a version superseded by then is skipped, not scored).

Two kinds are registered in `connect_signals` (called from `AssessmentConfig.ready`): "answer" (a chat
`QuestionAnswer`, queued by chat's `answer_saved`) and "roleplay" (a finished `RoleplayAttempt`, queued by
`roleplay_finished`; its material comes from `roleplay.services.assessment_material`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from django.db import transaction


@dataclass(frozen=True)
class Material:
    kind: str
    subject_id: int
    prompt_label: str  # "The question"
    prompt_text: str
    response_label: str  # "The learner's answer"
    response_text: str
    rubric: str
    learning_outcome_id: UUID | None
    segment_key: str
    content_id: UUID
    user_id: int | None
    session_token: UUID | None
    version: str
    is_current: bool  # False once a newer version of the subject was saved: skip it


_kinds: dict[str, Callable[[int], Material | None]] = {}


def register(kind: str, material: Callable[[int], Material | None]) -> None:
    _kinds[kind] = material


def kinds() -> list[str]:
    return sorted(_kinds)


def material_for(kind: str, subject_id: int) -> Material | None:
    if kind not in _kinds:
        raise LookupError(f"No assessment subject kind {kind!r} is registered (known: {', '.join(kinds())}).")
    return _kinds[kind](subject_id)


def queue(kind: str, subject_id: int) -> None:
    """Assess the subject once the current transaction commits (never blocking the request)."""
    from assessment import services

    transaction.on_commit(lambda: services.enqueue(kind, subject_id))


# The "answer" kind: a chat QuestionAnswer whose question has assessment-instructions.


def text_version(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def question_segment(content_id: UUID, question_key: str) -> dict | None:
    from content_loader.models import ContentItem

    item = ContentItem.objects.filter(pk=content_id).only("body").first()
    if item is None:
        return None
    for segment in item.body.get("segments", []):
        if segment.get("type") == "question" and segment.get("key") == question_key:
            return segment
    return None


def learning_outcome_of(content_id: UUID) -> UUID | None:
    """The learning outcome a lens or test is placed through in a module (content_loader's registry)."""
    from content_loader.models import ModuleEntry

    return (
        ModuleEntry.objects.filter(item_id=content_id, learning_outcome__isnull=False)
        .order_by("module_id", "position")
        .values_list("learning_outcome_id", flat=True)
        .first()
    )


def _answer_material(answer_id: int) -> Material | None:
    from chat.models import QuestionAnswer

    answer = QuestionAnswer.objects.filter(pk=answer_id).first()
    if answer is None:
        return None
    segment = question_segment(answer.content_id, answer.question_key)
    if segment is None or not segment.get("assessment_instructions"):
        return None
    return Material(
        kind="answer",
        subject_id=answer.pk,
        prompt_label="The question",
        prompt_text=segment.get("content_text") or answer.question_text,
        response_label="The learner's answer",
        response_text=answer.text,
        rubric=segment["assessment_instructions"],
        learning_outcome_id=learning_outcome_of(answer.content_id),
        segment_key=answer.question_key,
        content_id=answer.content_id,
        user_id=answer.user_id,
        session_token=answer.session_token,
        version=text_version(answer.text),
        is_current=answer.superseded_at is None,
    )


def _answer_saved(sender, answer, question, **kwargs) -> None:
    if question.get("assessment_instructions"):
        queue("answer", answer.pk)


# The "roleplay" kind: a finished roleplay attempt whose segment has assessment-instructions.


def _roleplay_material(attempt_id: int) -> Material | None:
    from roleplay.models import RoleplayAttempt
    from roleplay.services import assessment_material

    attempt = RoleplayAttempt.objects.filter(pk=attempt_id, finished_at__isnull=False).first()
    if attempt is None:
        return None
    material = assessment_material(attempt)
    if not material["rubric"]:
        return None
    outcome = material["learning_outcome_id"]
    return Material(
        kind="roleplay",
        subject_id=attempt.pk,
        prompt_label="The roleplay scenario",
        prompt_text=material["scenario"],
        response_label="The conversation (the learner and the character)",
        response_text=material["transcript"],
        rubric=material["rubric"],
        learning_outcome_id=UUID(outcome) if outcome else None,
        segment_key=material["segment_id"],
        content_id=attempt.content_id,
        user_id=attempt.user_id,
        session_token=attempt.session_token,
        version=text_version(material["transcript"]),
        is_current=True,  # a finished attempt never changes
    )


def _roleplay_finished(sender, attempt, **kwargs) -> None:
    queue("roleplay", attempt.pk)


def connect_signals() -> None:
    from chat.signals import answer_saved
    from roleplay.signals import roleplay_finished

    register("answer", _answer_material)
    register("roleplay", _roleplay_material)
    answer_saved.connect(_answer_saved, dispatch_uid="assessment.answer_saved")
    roleplay_finished.connect(_roleplay_finished, dispatch_uid="assessment.roleplay_finished")
