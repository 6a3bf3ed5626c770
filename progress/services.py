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
from django.db.models import Q, Sum
from django.utils import timezone

from chat.questions import current_answers, unanswered_questions
from chat.services import claim_answer_drafts, claim_chat_sessions, claim_question_answers
from content_loader.models import NO_STORED_ID_MESSAGE, ContentItem, ContentType, ModuleEntry, ReplacedId
from ops import ratelimit
from progress import sql
from progress.identity import Learner
from progress.models import PROGRESS_CONTENT_TYPES, ClaimedToken, LearnerClock, UserContentProgress
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
    # Seconds of the token's rows that the merge did not add: time overlapping what the account (or
    # another of its tokens) already had on the same items, which no wall-clock could hold twice.
    seconds_not_kept: int = 0

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
        summary = "Saved your progress: " + ", ".join(parts)
        if (overlap := round(self.seconds_not_kept / 60)) >= 1:
            summary += (
                f" ({overlap} minute{'' if overlap == 1 else 's'} on lenses you were already timed on at the same "
                "moments were not counted twice)"
            )
        return summary


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
def _statement(kind: str, vendor: str, by_user: bool):
    return {"heartbeat": sql.heartbeat_sql, "statements": sql.heartbeat_statements, "complete": sql.complete_sql}[kind](
        by_user=by_user
    )


class UnknownContent(InvalidProgress):
    """The UUID is no lens, test, module or learning outcome the registry knows (nor one they replace)."""


class TokenClaimed(Exception):
    """The learner is an anonymous token that an account claimed: it can do nothing any more."""


def record_heartbeat(*, learner: Learner, content_id: UUID, time_delta_s: int) -> int:
    """Credit active seconds to an item in one SQL statement, creating its row if missing; returns the credit.

    A learner is in one place at a time: the credit is min(time_delta_s, PROGRESS_MAX_HEARTBEAT_SECONDS,
    seconds since this learner's previous heartbeat on any item + 5), kept on the learner's clock
    (`LearnerClock`), so tabs, loops and heartbeats to many items at once never credit more than the
    wall-clock time. time_to_complete_s stops growing once the item is completed; total_time_spent_s keeps
    growing. Raises UnknownContent for a UUID the registry does not know and TokenClaimed for a dead
    token, writing nothing. On SQLite (no writes inside WITH) the same steps run as four statements in
    one transaction.
    """
    if time_delta_s < 1:
        raise InvalidProgress("time_delta_s must be a positive number of seconds.")
    params = sql.owner_params(learner) | {
        "content_id": sql.prep_uuid(content_id),
        "now": sql.prep_datetime(timezone.now()),
        "capped": min(time_delta_s, settings.PROGRESS_MAX_HEARTBEAT_SECONDS),
    }
    by_user = learner.is_authenticated
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_statement("heartbeat", connection.vendor, by_user), params)
            known, live, credit = cursor.fetchone()
    else:
        known, live, credit = _heartbeat_in_steps(by_user, params)
    if not known:
        raise UnknownContent(f"No lens, test, module or learning outcome has the UUID {content_id}.")
    if not live:
        raise TokenClaimed()
    return credit


@transaction.atomic
def _heartbeat_in_steps(by_user: bool, params: dict) -> tuple[bool, bool, int]:
    item_sql, live_sql, clock_sql, row_sql = _statement("statements", connection.vendor, by_user)
    with connection.cursor() as cursor:
        cursor.execute(item_sql, params)
        item = cursor.fetchone()
        if item is None:
            return False, True, 0
        cursor.execute(live_sql, params)
        if cursor.fetchone() is None:
            return True, False, 0
        cursor.execute(clock_sql, params)
        credit = cursor.fetchone()[0]
        cursor.execute(row_sql, params | {"content_type": item[0], "title": item[1], "credit": credit})
    return True, True, credit


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
    if not test.stores_progress:
        raise InvalidProgress(NO_STORED_ID_MESSAGE)
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

    `time_spent_s` (the client's own count, accepted as the plan's API has it) is never credited: time
    comes from heartbeats, which the server measures. An item the registry does not know (not synced
    yet) is stored as the plan allows, at most PROGRESS_RATE_LIMIT_UNKNOWN_COMPLETIONS per learner and
    window (ops.ratelimit.RateLimited past it). A claimed token raises TokenClaimed, checked under the
    learner's lock so that a claim committing meanwhile is seen.
    """
    if content_type not in PROGRESS_CONTENT_TYPES:
        raise InvalidProgress(f"content_type must be one of {', '.join(PROGRESS_CONTENT_TYPES)}.")
    now = timezone.now()
    with transaction.atomic():
        lock_learners(learner)
        if learner.session_token is not None and ClaimedToken.objects.filter(token=learner.session_token).exists():
            raise TokenClaimed()
        item = _registry_item(content_id)
        if item is None:
            ratelimit.take(
                scope="unknown-completion",
                identity=learner.label,
                limit=settings.PROGRESS_RATE_LIMIT_UNKNOWN_COMPLETIONS,
                window=settings.PROGRESS_RATE_LIMIT_WINDOW_SECONDS,
            )
        else:
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
    total_time_spent_s bounded by the wall-clock span it was earned in (sql.wall_clock_bound), latest
    last_heartbeat_at; the anonymous rows are then removed, and the receipt reports the seconds kept.
    The token is dead from then on (ClaimedToken): its clock goes, its rate-limit counts become the
    account's. A token another account claimed already is left alone: TokenClaimedElsewhere (nothing
    moved). Rows that late requests wrote under tokens this account claimed before are merged too.
    """
    lock_learners(Learner(session_token=session_token), Learner(user_id=user.pk))
    if ClaimedToken.objects.filter(token=session_token).exclude(user=user).exists():
        # Its rows, chats and answers are that account's now; a second account must never take them.
        raise TokenClaimedElsewhere("This anonymous token was already claimed by another account; nothing was moved.")
    ClaimedToken.objects.bulk_create([ClaimedToken(token=session_token, user=user)], ignore_conflicts=True)
    if ClaimedToken.objects.filter(token=session_token).exclude(user=user).exists():
        raise TokenClaimedElsewhere("This anonymous token was already claimed by another account; nothing was moved.")
    LearnerClock.objects.filter(session_token=session_token).delete()
    token_learner = Learner(session_token=session_token)
    ratelimit.move(old_identity=token_learner.label, new_identity=Learner(user_id=user.pk).label)
    # Locking the rows makes a concurrent heartbeat on them wait, then write a fresh row under the token,
    # which the account still sees (ClaimedToken). Only the locked rows are merged and deleted.
    rows = list(
        UserContentProgress.objects.select_for_update()
        .filter(
            Q(session_token=session_token) | Q(session_token__in=ClaimedToken.objects.filter(user=user).values("token"))
        )
        .values_list("id", "content_id", "content_type", "completed_at", "total_time_spent_s")
    )
    kept = 0
    if rows:
        before = UserContentProgress.objects.filter(user=user, content_id__in={row[1] for row in rows}).aggregate(
            seconds=Sum("total_time_spent_s")
        )["seconds"]
        params = {"user_id": user.pk} | {f"row{i}": row[0] for i, row in enumerate(rows)}
        with connection.cursor() as cursor:
            cursor.execute(sql.merge_rows_sql(row_ids=len(rows), by_user=True), params)
            kept = sum(total for _id, _content_id, total in cursor.fetchall()) - (before or 0)
        UserContentProgress.objects.filter(id__in=[row[0] for row in rows]).delete()
    chats = claim_chat_sessions(session_token=session_token, user_id=user.pk)
    answers = claim_question_answers(session_token=session_token, user_id=user.pk)
    claim_answer_drafts(session_token=session_token, user_id=user.pk)
    lenses = {content_id for _, content_id, kind, completed_at, _ in rows if kind == "lens" and completed_at}
    claimed_seconds = sum(row[4] for row in rows)
    return ClaimReceipt(
        progress_records_claimed=len(rows),
        chat_sessions_claimed=chats,
        lenses_completed=len(lenses),
        seconds=kept,
        answers_claimed=answers,
        seconds_not_kept=max(0, claimed_seconds - kept),
    )
