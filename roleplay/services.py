"""Writes to roleplay attempts, and what assessment reads of one. Each function is one write path.

Learners are passed as `learner=` (a `learners.Learner`, as on `request.learner`), as in `chat.services`.
Nothing here calls the model: that is `roleplay.character`, run on a background thread (`chat.replies`),
never inside a transaction. Length and rate limits are the chat's
(`chat.services.check_message`, `count_message`, `count_tutor_call`).
"""

from functools import partial
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from chat import replies
from chat.models import ReplyState
from chat.services import ChatError, check_message, count_message
from content_loader.models import ContentItem, ModuleEntry
from learners import Learner
from roleplay.models import RoleplayAttempt, RoleplayFeedback, RoleplayMessage
from roleplay.segments import find_roleplay, roleplay_uuid
from roleplay.signals import roleplay_finished


class AttemptFinished(ChatError):
    status = 409


class StillReplying(ChatError):
    status = 409


class NothingSaid(ChatError):
    pass


def _owner_fields(learner: Learner) -> dict:
    """The owner columns of a row of the learner's (exactly one of the two is set)."""
    return {"user_id": learner.user_id, "session_token": learner.session_token}


def active_attempt(*, learner: Learner, roleplay_id: UUID) -> RoleplayAttempt | None:
    """The learner's active attempt at a roleplay, with its messages (None before the first message)."""
    return (
        RoleplayAttempt.objects.active()
        .owned_by(learner)
        .filter(roleplay_id=roleplay_id)
        .prefetch_related("messages", "feedback_requests")
        .first()
    )


def get_or_create_attempt(*, learner: Learner, item_id: UUID, item_type: str, segment: dict) -> RoleplayAttempt:
    """The learner's active attempt at the roleplay, started (with the opening message) if none (race-safe)."""
    owner = _owner_fields(learner)
    roleplay_id = roleplay_uuid(segment)
    for _attempt in range(3):
        attempt = active_attempt(learner=learner, roleplay_id=roleplay_id)
        if attempt is not None:
            return attempt
        try:
            with transaction.atomic():
                attempt = RoleplayAttempt.objects.create(
                    **owner,
                    roleplay_id=roleplay_id,
                    content_id=item_id,
                    content_type=item_type,
                    scenario=segment.get("content_text", ""),
                )
                if (segment.get("opening_message") or "").strip():
                    RoleplayMessage.objects.create(
                        attempt=attempt, role=RoleplayMessage.Role.ASSISTANT, text=segment["opening_message"].strip()
                    )
                return attempt
        except IntegrityError:
            continue  # a second tab started it a moment ago: read that one
    raise RuntimeError("Could not get or start the roleplay attempt.")


def send_learner_message(
    *, learner: Learner, item_id: UUID, item_type: str, segment: dict, text: str
) -> RoleplayMessage:
    """Save the learner's line in their active attempt (started if needed), within the chat's limits.

    Committed before the character is asked, so a failing model never loses it. Refused once finished.
    """
    text = check_message(text)
    count_message(learner=learner)
    attempt = get_or_create_attempt(learner=learner, item_id=item_id, item_type=item_type, segment=segment)
    with transaction.atomic():
        # Locked, so that a "Finish conversation" committing meanwhile is seen.
        attempt = RoleplayAttempt.objects.select_for_update().get(pk=attempt.pk)
        if attempt.is_finished:
            raise AttemptFinished("This conversation is finished. Press “Try again” to start a new one.")
        message = RoleplayMessage.objects.create(attempt=attempt, role=RoleplayMessage.Role.USER, text=text)
        RoleplayAttempt.objects.filter(pk=attempt.pk).update(last_active_at=timezone.now())
    return message


def begin_reply(*, attempt_id: int) -> RoleplayMessage | None:
    """Create the character's reply, `generating`; None when one is being generated already.

    A reply whose generator died is marked interrupted first (its text kept); an earlier failed reply that
    brought no text is only a notice, and the new one takes its place.
    """
    replies.expire_dead(RoleplayMessage.objects.filter(attempt_id=attempt_id))
    try:
        with transaction.atomic():
            RoleplayMessage.objects.filter(
                attempt_id=attempt_id, role=RoleplayMessage.Role.ASSISTANT, state=ReplyState.INTERRUPTED, text=""
            ).delete()
            return RoleplayMessage.objects.create(
                attempt_id=attempt_id, role=RoleplayMessage.Role.ASSISTANT, **replies.lease_fields()
            )
    except IntegrityError:
        return None


def touch_attempt(*, attempt_id: int) -> None:
    """Mark the attempt active now (a reply was saved)."""
    RoleplayAttempt.objects.filter(pk=attempt_id).update(last_active_at=timezone.now())


@transaction.atomic
def finish_attempt(*, learner: Learner, roleplay_id: UUID) -> RoleplayAttempt:
    """ "Finish conversation": the active attempt takes no more messages; `roleplay_finished` is sent on commit.

    Refused before the learner said anything, and while the character is still replying. Finishing a
    finished attempt changes nothing (and sends nothing).
    """
    attempt = (
        RoleplayAttempt.objects.active().owned_by(learner).filter(roleplay_id=roleplay_id).select_for_update().first()
    )
    if attempt is None or not attempt.messages.filter(role=RoleplayMessage.Role.USER).exists():
        raise NothingSaid("Say something to the character before finishing the conversation.")
    if attempt.is_finished:
        return attempt
    replies.expire_dead(RoleplayMessage.objects.filter(attempt=attempt))
    if attempt.messages.filter(state=ReplyState.GENERATING).exists():
        raise StillReplying("The character is still replying. Finish the conversation once the reply is in.")
    attempt.finished_at = timezone.now()
    attempt.save(update_fields=["finished_at"])
    transaction.on_commit(partial(roleplay_finished.send, sender=RoleplayAttempt, attempt=attempt))
    return attempt


@transaction.atomic
def try_again(*, learner: Learner, roleplay_id: UUID) -> int:
    """ "Try again": archive the active attempt (readable under "Past attempts"); the next one starts afresh.

    Returns how many were archived (0 or 1). A reply still being generated goes on into the archived attempt.
    """
    return (
        RoleplayAttempt.objects.active()
        .owned_by(learner)
        .filter(roleplay_id=roleplay_id)
        .update(archived_at=timezone.now())
    )


def request_feedback(*, attempt_id: int) -> tuple[RoleplayFeedback, bool]:
    """Create a feedback row on the attempt, `generating`: (row, True); while one is generated, (that one, False)."""
    replies.expire_dead(RoleplayFeedback.objects.filter(attempt_id=attempt_id))
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return RoleplayFeedback.objects.create(attempt_id=attempt_id, **replies.lease_fields()), True
        except IntegrityError:
            running = RoleplayFeedback.objects.filter(attempt_id=attempt_id, state=ReplyState.GENERATING).first()
            if running is not None:
                return running, False
    raise RuntimeError("Could not ask for feedback.")


@transaction.atomic
def claim_roleplay_attempts(*, session_token: UUID, user_id: int) -> int:
    """Move an anonymous token's attempts to an account; returns how many moved.

    Called by progress claiming inside its transaction. Where the account already has an active attempt at
    the same roleplay, the anonymous one is archived and moved: kept under "Past attempts", never dropped.
    """
    users_active = RoleplayAttempt.objects.active().filter(user_id=user_id, roleplay_id=OuterRef("roleplay_id"))
    RoleplayAttempt.objects.active().filter(Exists(users_active), session_token=session_token).update(
        archived_at=timezone.now()
    )
    return RoleplayAttempt.objects.filter(session_token=session_token).update(user_id=user_id, session_token=None)


@transaction.atomic(savepoint=False)
def erase_learner_roleplays(*, owned: Q) -> None:
    """Delete a learner's roleplay attempts, their messages and feedback with them (data erasure).

    `owned` selects the learner's rows (their account's and their tokens'; progress.tooling.learner_data decides).
    """
    RoleplayAttempt.objects.filter(owned).delete()


# What assessment reads


def transcript_text(attempt: RoleplayAttempt) -> str:
    """The attempt's conversation as plain text, one "Learner:" or "Character:" turn a paragraph."""
    lines = []
    for message in attempt.messages.all():
        if message.text.strip():
            lines.append(f"{message.get_role_display()}: {message.text.strip()}")
    return "\n\n".join(lines)


def assessment_material(attempt: RoleplayAttempt) -> dict:
    """What an assessment of a finished attempt needs: scenario, transcript, rubric, learning outcome and ids.

    The rubric is the segment's `assessment-instructions::` as the registry holds it now (empty when the
    roleplay is gone); `learning_outcome_id` is the outcome whose test holds the roleplay, else None.
    """
    item = ContentItem.objects.filter(pk=attempt.content_id).only("id", "content_type", "body").first()
    segment = find_roleplay(item, attempt.roleplay_id) if item is not None else None
    outcome_id = (
        ModuleEntry.objects.filter(item_id=attempt.content_id, learning_outcome__isnull=False)
        .values_list("learning_outcome_id", flat=True)
        .first()
    )
    return {
        "segment_id": str(attempt.roleplay_id),
        "content_id": str(attempt.content_id),
        "attempt_id": attempt.pk,
        "scenario": attempt.scenario or (segment or {}).get("content_text", ""),
        "transcript": transcript_text(attempt),
        "rubric": (segment or {}).get("assessment_instructions") or "",
        "learning_outcome_id": str(outcome_id) if outcome_id else None,
    }
