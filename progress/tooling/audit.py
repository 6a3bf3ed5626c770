"""Staff corrections to progress rows, each written with an append-only audit record.

Every correction (mark complete, reset completion, an edit by hand, an undo) changes one row and records
who, when, why, and the changed fields before and after, in one transaction. An undo restores the
`before` values of a record, provided those fields still hold the values it left (otherwise it would
overwrite newer progress), and is itself recorded; a record can be undone once.
"""

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from progress.models import ProgressAudit, UserContentProgress

EDITABLE_FIELDS = ("completed_at", "time_to_complete_s", "total_time_spent_s", "content_title")


class CorrectionRefused(Exception):
    """A correction that cannot be applied; the message says why."""


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _snapshot(row: UserContentProgress, fields) -> dict[str, Any]:
    return {name: _json(getattr(row, name)) for name in fields}


def _apply(
    *, row: UserContentProgress, changes: dict[str, Any], actor, reason: str, action: str, undoes=None
) -> ProgressAudit:
    if not reason.strip():
        raise CorrectionRefused("A reason is required.")
    before = _snapshot(row, changes)
    for name, value in changes.items():
        setattr(row, name, UserContentProgress._meta.get_field(name).to_python(value))
    row.save(update_fields=list(changes))
    return ProgressAudit.objects.create(
        progress_id=row.pk,
        learner=row.owner_label,
        content_id=row.content_id,
        actor=actor,
        actor_username=actor.get_username(),
        action=action,
        reason=reason.strip(),
        before=before,
        after=_snapshot(row, changes),
        undoes=undoes,
    )


def _locked_row(row_id: int) -> UserContentProgress:
    try:
        return UserContentProgress.objects.select_for_update().get(pk=row_id)
    except UserContentProgress.DoesNotExist:
        raise CorrectionRefused(
            f"Progress row {row_id} no longer exists (claimed into an account, or deleted)."
        ) from None


@transaction.atomic
def mark_complete(*, row_id: int, actor, reason: str) -> ProgressAudit | None:
    """Complete a row now, keeping its accumulated time; None when it was already completed."""
    row = _locked_row(row_id)
    if row.completed_at is not None:
        return None
    return _apply(row=row, changes={"completed_at": timezone.now()}, actor=actor, reason=reason, action="mark_complete")


@transaction.atomic
def reset_completion(*, row_id: int, actor, reason: str) -> ProgressAudit | None:
    """Make a row not completed again, keeping its time; None when it was not completed."""
    row = _locked_row(row_id)
    if row.completed_at is None:
        return None
    return _apply(row=row, changes={"completed_at": None}, actor=actor, reason=reason, action="reset_completion")


@transaction.atomic
def edit(*, row_id: int, actor, reason: str, changes: dict[str, Any]) -> ProgressAudit | None:
    """Apply a hand edit of some of EDITABLE_FIELDS; None when nothing actually changes."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise CorrectionRefused(f"These fields cannot be edited: {', '.join(sorted(unknown))}.")
    row = _locked_row(row_id)
    changes = {name: value for name, value in changes.items() if getattr(row, name) != value}
    if not changes:
        return None
    return _apply(row=row, changes=changes, actor=actor, reason=reason, action="edit")


def undo(*, audit_id: int, actor, reason: str) -> ProgressAudit:
    """Restore the values a record changed, if nothing changed them since; records the undo."""
    try:
        with transaction.atomic():
            record = ProgressAudit.objects.select_for_update().get(pk=audit_id)
            if record.action == ProgressAudit.Action.DOCTOR_MERGE:
                raise CorrectionRefused(f"Record {audit_id} is a merge; merged rows are gone and cannot be restored.")
            if ProgressAudit.objects.filter(undoes=record).exists():
                raise CorrectionRefused(f"Record {audit_id} was already undone.")
            row = _locked_row(record.progress_id)
            if _snapshot(row, record.after) != record.after:
                raise CorrectionRefused(
                    f"Row {row.pk} changed since record {audit_id}; undoing it would overwrite newer values."
                )
            return _apply(row=row, changes=record.before, actor=actor, reason=reason, action="undo", undoes=record)
    except IntegrityError:  # a simultaneous undo of the same record won
        raise CorrectionRefused(f"Record {audit_id} was already undone.") from None
