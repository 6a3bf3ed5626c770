"""A learner's own data: export it as one JSON document, or erase all of it.

What belongs to a learner:
- an account: its progress rows, conversations (with their messages), question answers and drafts, roleplay
  attempts (with their messages and feedback), and those
  that late requests wrote under the anonymous tokens it claimed (pages count them as the account's:
  see `ClaimedToken`), plus the account itself;
- an anonymous learner: the rows, conversations and answers of their token. A token that an account
  claimed belongs to that account: its data is exported and erased with the account's, not on its own.

The correction records of `ProgressAudit` name the learner only as "user 12" or "token ..." and are kept
after an erasure, as is a `LearnerDataAudit` record of the erasure itself (who, when, which learner, how
many rows); neither holds a name or an email address.
"""

from datetime import datetime
from typing import Any
from uuid import UUID

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from assessment.models import Assessment
from chat.models import AnswerDraft, AnswerStart, ChatMessage, ChatSession, QuestionAnswer
from chat.services import erase_learner_chats
from content_loader.models import ContentItem
from learners import Learner
from ops import ratelimit
from progress.models import ClaimedToken, LearnerDataAudit, ProgressAudit, UserContentProgress, belongs_to
from progress.services import lock_learners
from roleplay.models import RoleplayAttempt, RoleplayFeedback, RoleplayMessage
from roleplay.services import erase_learner_roleplays

EXPORT_FORMAT = "courseplatform-learner-data/1"


def claimed_tokens(learner: Learner) -> list[UUID]:
    """The tokens an account claimed, oldest first (1 query; none for a token)."""
    if learner.user_id is None:
        return []
    tokens = ClaimedToken.objects.filter(user_id=learner.user_id).order_by("claimed_at")
    return list(tokens.values_list("token", flat=True))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _stored_under(row) -> str:
    return "account" if row.user_id is not None else f"token {row.session_token}"


def export_learner_data(*, learner: Learner) -> dict[str, Any]:
    """Everything stored about the learner, as one JSON-ready document (12 queries at most)."""
    owned, tokens = belongs_to(learner), claimed_tokens(learner)
    document: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "exported_at": timezone.now().isoformat(),
        "learner": _learner_part(learner, tokens),
    }
    registry_title = ContentItem.objects.filter(pk=OuterRef("content_id")).values("title")[:1]
    document["progress"] = [
        {
            "content_id": str(row.content_id),
            "content_type": row.content_type,
            "title": row.current_title or row.content_title,
            "started_at": _iso(row.started_at),
            "completed_at": _iso(row.completed_at),
            "time_to_complete_s": row.time_to_complete_s,
            "total_time_spent_s": row.total_time_spent_s,
            "last_activity_at": _iso(row.last_heartbeat_at),
            "stored_under": _stored_under(row),
        }
        for row in UserContentProgress.objects.filter(owned)
        .annotate(current_title=Subquery(registry_title))
        .order_by("started_at", "id")
    ]
    sessions = ChatSession.objects.filter(owned).prefetch_related("messages").order_by("started_at", "id")
    document["chat_sessions"] = [
        {
            "content_id": str(session.content_id) if session.content_id else None,
            "content_type": session.content_type,
            "started_at": _iso(session.started_at),
            "last_active_at": _iso(session.last_active_at),
            "archived_at": _iso(session.archived_at),
            "stored_under": _stored_under(session),
            "messages": [
                {
                    "role": message.role,
                    "text": message.text,
                    "lens_id": str(message.lens_id) if message.lens_id else None,
                    "created_at": _iso(message.created_at),
                    "state": message.state,
                }
                for message in session.messages.all()
            ],
        }
        for session in sessions
    ]
    document["question_answers"] = [
        {
            "content_id": str(answer.content_id),
            "content_type": answer.content_type,
            "question_key": answer.question_key,
            "question": answer.question_text,
            "answer": answer.text,
            "created_at": _iso(answer.created_at),
            "updated_at": _iso(answer.updated_at),
            "feedback": answer.feedback,
            "feedback_at": _iso(answer.feedback_at),
            "superseded_at": _iso(answer.superseded_at),
            "stored_under": _stored_under(answer),
        }
        for answer in QuestionAnswer.objects.filter(owned).order_by("created_at", "id")
    ]
    document["answer_drafts"] = [
        {
            "content_id": str(draft.content_id),
            "content_type": draft.content_type,
            "question_key": draft.question_key,
            "text": draft.text,
            "updated_at": _iso(draft.updated_at),
            "stored_under": _stored_under(draft),
        }
        for draft in AnswerDraft.objects.filter(owned).order_by("updated_at", "id")
    ]
    document["answer_starts"] = [
        {
            "content_id": str(start.content_id),
            "question_key": start.question_key,
            "started_at": _iso(start.started_at),
            "stored_under": _stored_under(start),
        }
        for start in AnswerStart.objects.filter(owned).order_by("started_at", "id")
    ]
    document["assessments"] = [
        {
            "subject_kind": row.subject_kind,
            "subject_id": row.subject_id,
            "content_id": str(row.content_id),
            "question_key": row.segment_key,
            "state": row.state,
            "score": row.score,
            "reasoning": row.reasoning,
            "dimensions": row.dimensions,
            "observations": row.observations,
            "model": row.model,
            "assessed_at": _iso(row.assessed_at),
            "stored_under": _stored_under(row),
        }
        for row in Assessment.objects.filter(owned).order_by("created_at", "id")
    ]
    attempts = (
        RoleplayAttempt.objects.filter(owned)
        .prefetch_related("messages", "feedback_requests")
        .order_by("started_at", "id")
    )
    document["roleplay_attempts"] = [
        {
            "roleplay_id": str(attempt.roleplay_id),
            "content_id": str(attempt.content_id),
            "content_type": attempt.content_type,
            "scenario": attempt.scenario,
            "started_at": _iso(attempt.started_at),
            "finished_at": _iso(attempt.finished_at),
            "archived_at": _iso(attempt.archived_at),
            "stored_under": _stored_under(attempt),
            "messages": [
                {
                    "role": message.role,
                    "text": message.text,
                    "created_at": _iso(message.created_at),
                    "state": message.state,
                }
                for message in attempt.messages.all()
            ],
            "feedback": [
                {"text": row.text, "requested_at": _iso(row.requested_at), "state": row.state}
                for row in attempt.feedback_requests.all()
            ],
        }
        for attempt in attempts
    ]
    labels = [learner.label] + [Learner(session_token=token).label for token in tokens]
    document["corrections"] = [
        {
            "content_id": str(record.content_id),
            "action": record.get_action_display(),
            "at": _iso(record.created_at),
            "reason": record.reason,
            "before": record.before,
            "after": record.after,
        }
        for record in ProgressAudit.objects.filter(learner__in=labels).order_by("created_at", "id")
    ]
    return document


def _learner_part(learner: Learner, tokens: list[UUID]) -> dict[str, Any]:
    if learner.user_id is None:
        return {"kind": "anonymous", "token": str(learner.session_token)}
    user = get_user_model().objects.get(pk=learner.user_id)
    return {
        "kind": "account",
        "username": user.get_username(),
        "email": getattr(user, "email", ""),
        "first_name": getattr(user, "first_name", ""),
        "last_name": getattr(user, "last_name", ""),
        "date_joined": _iso(getattr(user, "date_joined", None)),
        "last_login": _iso(user.last_login),
        "claimed_tokens": [str(token) for token in tokens],
    }


def learner_data_counts(*, learner: Learner) -> dict[str, int]:
    """How many rows of each kind the learner has: what an erasure would remove (10 queries)."""
    owned = belongs_to(learner)
    return {
        "progress_rows": UserContentProgress.objects.filter(owned).count(),
        "chat_sessions": ChatSession.objects.filter(owned).count(),
        "chat_messages": ChatMessage.objects.filter(session__in=ChatSession.objects.filter(owned)).count(),
        "question_answers": QuestionAnswer.objects.filter(owned).count(),
        "answer_drafts": AnswerDraft.objects.filter(owned).count(),
        "answer_starts": AnswerStart.objects.filter(owned).count(),
        "assessments": Assessment.objects.filter(owned).count(),
        "roleplay_attempts": RoleplayAttempt.objects.filter(owned).count(),
        "roleplay_messages": RoleplayMessage.objects.filter(attempt__in=RoleplayAttempt.objects.filter(owned)).count(),
        "roleplay_feedback": RoleplayFeedback.objects.filter(attempt__in=RoleplayAttempt.objects.filter(owned)).count(),
        "accounts": int(learner.user_id is not None),
    }


@transaction.atomic
def erase_learner_data(*, learner: Learner, actor=None, fresh_token: UUID | None = None) -> dict[str, int]:
    """Remove every progress row, conversation, message and answer of the learner, and their account.

    One transaction, holding the learner's lock so that no completion or claim writes meanwhile. Records
    who erased (staff `actor`, or the learner when None), when, which learner and the counts. Rate-limit
    counts are not the learner's data and stay; with `fresh_token` (the browser's next identity) they
    move to it, so that deleting one's data never resets a limit.
    """
    lock_learners(learner, *[Learner(session_token=token) for token in claimed_tokens(learner)])
    # Each statement reads the claimed tokens afresh (`belongs_to`), so a claim committed meanwhile is seen.
    owned = belongs_to(learner)
    counts = learner_data_counts(learner=learner)
    UserContentProgress.objects.filter(owned).delete()
    erase_learner_chats(owned=owned)
    Assessment.objects.filter(owned).delete()
    erase_learner_roleplays(owned=owned)
    if learner.user_id is not None:
        user_model = get_user_model()
        counts["accounts"] = user_model.objects.filter(pk=learner.user_id).delete()[1].get(user_model._meta.label, 0)
    record_data_request(learner=learner, action=LearnerDataAudit.Action.ERASE, actor=actor, counts=counts)
    if fresh_token is not None:
        ratelimit.move(old_identity=learner.label, new_identity=Learner(session_token=fresh_token).label)
    return counts


def record_data_request(*, learner: Learner, action: str, actor=None, counts: dict | None = None) -> LearnerDataAudit:
    """Write the audit record of an export or an erasure of a learner's data."""
    return LearnerDataAudit.objects.create(
        action=action,
        learner=learner.label,
        actor=actor,
        actor_username=actor.get_username() if actor is not None else "",
        counts=counts or {},
    )
