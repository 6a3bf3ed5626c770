"""Writes to progress. Each function is the one write path for what it names; arguments are keyword-only.

Every write is an upsert on the row of (learner, content UUID), so concurrent requests never collide on
the unique constraints. Completions and claims also take a per-learner advisory lock on PostgreSQL, so
that deciding "this completion finished the module" never races another completion of the same learner.
"""

import functools
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from chat.questions import current_answers, unanswered_questions
from chat.services import claim_answer_drafts, claim_chat_sessions, claim_question_answers
from content_loader.models import ContentItem, ContentType, ModuleEntry, ReplacedId
from progress import sql
from progress.identity import Learner
from progress.models import PROGRESS_CONTENT_TYPES, ClaimedToken, UserContentProgress
from progress.queries import (
    ModuleProgress,
    Status,
    build_module_progress,
    derive_status,
    find_by_slug,
    module_entries,
    progress_by_item,
    steps_of,
)


class InvalidProgress(ValueError):
    """A write that cannot be stored (an unknown content type, a non-positive delta, ...)."""


class TokenClaimedElsewhere(Exception):
    """A claim of a token that another account already claimed: nothing moves."""


@dataclass(frozen=True)
class CompletionResult:
    completed_at: datetime
    newly_completed: bool
    module: ModuleProgress | None  # the module named by module_slug, when it contains the item
    module_newly_completed: bool  # True only on the call whose completion finished that module


@dataclass(frozen=True)
class ClaimReceipt:
    progress_records_claimed: int
    chat_sessions_claimed: int
    lenses_completed: int
    seconds: int
    answers_claimed: int = 0

    def summary(self) -> str:
        """The sentence a page shows after login: "Saved your progress: 7 lenses, 42 minutes"."""
        lenses = f"{self.lenses_completed} lens{'' if self.lenses_completed == 1 else 'es'}"
        minutes = round(self.seconds / 60)
        spent = "under a minute" if self.seconds and not minutes else f"{minutes} minute{'' if minutes == 1 else 's'}"
        parts = [lenses, spent]
        if self.chat_sessions_claimed:
            chats = self.chat_sessions_claimed
            parts.append(f"{chats} tutor conversation{'' if chats == 1 else 's'}")
        if self.answers_claimed:
            answers = self.answers_claimed
            parts.append(f"{answers} answer{'' if answers == 1 else 's'}")
        return "Saved your progress: " + ", ".join(parts)


def lock_learners(*learners: Learner) -> None:
    """Serialize completions and claims per learner until the transaction ends (PostgreSQL only).

    SQLite serializes all writes anyway. Heartbeats take no lock: they are one statement.
    """
    if connection.vendor != "postgresql":
        return
    calls = ", ".join("pg_advisory_xact_lock(%s, %s)" for _ in learners)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {calls}", [part for learner in learners for part in learner.lock_key])


@functools.cache
def _statement(kind: str, vendor: str, by_user: bool) -> str:
    return {"heartbeat": sql.heartbeat_sql, "complete": sql.complete_sql}[kind](by_user=by_user)


def record_heartbeat(*, learner: Learner, content_id: UUID, time_delta_s: int) -> None:
    """Credit active seconds to an item in one SQL statement, creating its row if missing.

    Credits min(time_delta_s, seconds since the row's last heartbeat + 5, PROGRESS_MAX_HEARTBEAT_SECONDS);
    the first heartbeat of a row is capped by the maximum only. time_to_complete_s stops growing once the
    item is completed; total_time_spent_s keeps growing.
    """
    if time_delta_s < 1:
        raise InvalidProgress("time_delta_s must be a positive number of seconds.")
    params = sql.owner_params(learner) | {
        "content_id": sql.prep_uuid(content_id),
        "now": sql.prep_datetime(timezone.now()),
        "capped": min(time_delta_s, settings.PROGRESS_MAX_HEARTBEAT_SECONDS),
    }
    with connection.cursor() as cursor:
        cursor.execute(_statement("heartbeat", connection.vendor, learner.is_authenticated), params)


def _registry_item(content_id: UUID) -> tuple[UUID, str, str] | None:
    """(id, type, title) of the registry item for a UUID, following `replaces:` from an old UUID."""
    items = ContentItem.objects.values_list("id", "content_type", "title")
    found = (
        items.filter(pk=content_id)[:1]
        or items.filter(pk__in=ReplacedId.objects.filter(old_id=content_id).values("item_id"))[:1]
    )
    return found[0] if found else None


def _require_answers(learner: Learner, test_id: UUID) -> None:
    """Refuse to complete a test while a required question of it has no answer (2 queries)."""
    test = ContentItem.objects.only("id", "body").get(pk=test_id)
    answers = current_answers(user_id=learner.user_id, session_token=learner.session_token, item=test)
    if missing := unanswered_questions(test, answers):
        names = ", ".join(question.label for question in missing)
        raise InvalidProgress(f"Answer every question of this test before completing it. Not answered yet: {names}.")


def complete_content(
    *,
    learner: Learner,
    content_id: UUID,
    content_type: str,
    content_title: str = "",
    time_spent_s: int | None = None,
    module_slug: str | None = None,
) -> CompletionResult:
    """Mark an item completed (idempotent: the first completion wins) and complete what it finishes.

    In the same transaction, completes the row of every module containing the item (leaf modules and
    their parents) whose required steps are now all completed, and likewise the learning outcomes the
    item came through. The registry's type and title win over the caller's when it knows the item. A
    test the registry knows is completed only once every required question of it has an answer.
    """
    if content_type not in PROGRESS_CONTENT_TYPES:
        raise InvalidProgress(f"content_type must be one of {', '.join(PROGRESS_CONTENT_TYPES)}.")
    now = timezone.now()
    with transaction.atomic():
        lock_learners(learner)
        item = _registry_item(content_id)
        if item is not None:
            if item[1] not in PROGRESS_CONTENT_TYPES:
                raise InvalidProgress(f"{content_id} is a {item[1]}, which is not completed directly.")
            content_id, content_type, content_title = item
            if content_type == ContentType.TEST:
                _require_answers(learner, content_id)
        module = find_by_slug(ContentType.MODULE, module_slug) if module_slug else None

        by_user = learner.is_authenticated
        params = sql.owner_params(learner) | {
            "content_id": sql.prep_uuid(content_id),
            "content_type": content_type,
            "title": content_title,
            "now": sql.prep_datetime(now),
            "client_s": max(time_spent_s or 0, 0),
        }
        with connection.cursor() as cursor:
            cursor.execute(_statement("complete", connection.vendor, by_user), params)
            row = cursor.fetchone()
        newly_completed = row is not None
        if newly_completed:
            completed_at = sql.from_db_datetime(row[0])
        else:
            completed_at = (
                UserContentProgress.objects.owned_by(learner)
                .filter(content_id=content_id, completed_at__isnull=False)
                .order_by("completed_at")
                .values_list("completed_at", flat=True)
                .first()
            )
        if not newly_completed and module is None:
            return CompletionResult(completed_at, False, None, False)

        # Every step of the leaf modules holding the item, and of the sibling submodules of those.
        leaf_ids = ModuleEntry.objects.filter(item_id=content_id).values("module_id")
        parent_ids = ContentItem.objects.filter(pk__in=leaf_ids, parent__isnull=False).values("parent_id")
        entries = module_entries(Q(module_id__in=leaf_ids) | Q(module__parent_id__in=parent_ids))
        progress = progress_by_item(learner, {e.item_id for e in entries})
        done = {item_id for item_id, p in progress.items() if p.completed_at is not None} | {content_id}
        before = done - {content_id} if newly_completed else done
        placements = [e for e in entries if e.item_id == content_id]
        containing = {e.module_id for e in placements} | {e.module_parent_id for e in placements if e.module_parent_id}
        if newly_completed:
            _complete_finished_modules(learner, placements, entries, done, now)

        if module is None or module.pk not in containing:
            return CompletionResult(completed_at, newly_completed, None, False)
        result = build_module_progress(module, entries, progress)
        status_before = _status(steps_of(module.pk, entries), before)
        module_newly_completed = result.status == Status.COMPLETED and status_before != Status.COMPLETED
        return CompletionResult(completed_at, newly_completed, result, module_newly_completed)


def _status(steps: list[ModuleEntry], done: set[UUID]) -> Status:
    status, _, _ = derive_status(
        required={e.item_id for e in steps if not e.optional}, steps={e.item_id for e in steps}, done=done
    )
    return status


def _complete_finished_modules(
    learner: Learner, placements: list[ModuleEntry], entries: list[ModuleEntry], done: set[UUID], now: datetime
) -> None:
    """Complete the module and learning-outcome rows the item's completion finished (1 statement).

    `placements` are the item's entries; a module is checked through each (leaf and parent), and the
    learning outcome each placement came through, over its steps in that leaf module.
    """
    finished: dict[UUID, str] = {}
    for placement in placements:
        leaf_id, parent_id, outcome_id = placement.module_id, placement.module_parent_id, placement.learning_outcome_id
        if _status(steps_of(leaf_id, entries), done) == Status.COMPLETED:
            finished[leaf_id] = ContentType.MODULE
        if parent_id and _status(steps_of(parent_id, entries), done) == Status.COMPLETED:
            finished[parent_id] = ContentType.MODULE
        outcome_steps = [e for e in entries if e.module_id == leaf_id and e.learning_outcome_id == outcome_id]
        if outcome_id and _status(outcome_steps, done) == Status.COMPLETED:
            finished[outcome_id] = ContentType.LEARNING_OUTCOME
    if not finished:
        return
    params = sql.owner_params(learner) | {"now": sql.prep_datetime(now)}
    for i, (row_id, row_type) in enumerate(finished.items()):
        params |= {f"id{i}": sql.prep_uuid(row_id), f"type{i}": row_type}
    with connection.cursor() as cursor:
        cursor.execute(sql.complete_many_sql(by_user=learner.is_authenticated, rows=len(finished)), params)


@transaction.atomic
def claim_progress(*, user, session_token: UUID) -> ClaimReceipt:
    """Move an anonymous token's progress and chats to an account, merging conflicts, never dropping any.

    Per content item: earliest started_at, earliest completed_at with its time_to_complete_s, summed
    total_time_spent_s, latest last_heartbeat_at; the anonymous rows are then removed. Rows that late
    requests write under tokens this account claimed before are merged too. Raises TokenClaimedElsewhere
    (nothing moved) when another account claimed the token already.
    """
    lock_learners(Learner(session_token=session_token), Learner(user_id=user.pk))
    if ClaimedToken.objects.filter(token=session_token).exclude(user=user).exists():
        # Its rows, chats and answers are that account's now; a second account must never take them.
        raise TokenClaimedElsewhere("This anonymous token was already claimed by another account; nothing was moved.")
    ClaimedToken.objects.bulk_create([ClaimedToken(token=session_token, user=user)], ignore_conflicts=True)
    # Locking the rows makes a concurrent heartbeat on them wait, then write a fresh row under the token,
    # which the account still sees (ClaimedToken). Only the locked rows are merged and deleted.
    rows = list(
        UserContentProgress.objects.select_for_update()
        .filter(
            Q(session_token=session_token) | Q(session_token__in=ClaimedToken.objects.filter(user=user).values("token"))
        )
        .values_list("id", "content_id", "content_type", "completed_at", "total_time_spent_s")
    )
    if rows:
        params = {"user_id": user.pk} | {f"row{i}": row[0] for i, row in enumerate(rows)}
        with connection.cursor() as cursor:
            cursor.execute(sql.merge_rows_sql(row_ids=len(rows), by_user=True), params)
        UserContentProgress.objects.filter(id__in=[row[0] for row in rows]).delete()
    chats = claim_chat_sessions(session_token=session_token, user_id=user.pk)
    answers = claim_question_answers(session_token=session_token, user_id=user.pk)
    claim_answer_drafts(session_token=session_token, user_id=user.pk)
    lenses = {content_id for _, content_id, kind, completed_at, _ in rows if kind == "lens" and completed_at}
    return ClaimReceipt(
        progress_records_claimed=len(rows),
        chat_sessions_claimed=chats,
        lenses_completed=len(lenses),
        seconds=sum(row[4] for row in rows),
        answers_claimed=answers,
    )
