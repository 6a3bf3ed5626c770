"""Writes to progress. Each function is the one write path for what it names; arguments are keyword-only.

Every write is an upsert on the row of (learner, content UUID), so concurrent requests never collide on
the unique constraints. Completions and claims also take a per-learner advisory lock on PostgreSQL, so
that deciding "this completion finished the module" never races another completion of the same learner.
"""

import functools
from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from chat.questions import current_answers, unanswered_questions
from chat.services import claim_answer_drafts, claim_answer_starts, claim_chat_sessions, claim_question_answers
from content_loader import kept
from content_loader.models import LEARNER_CONTENT_TYPES, NO_STORED_ID_MESSAGE, ContentItem, ContentType
from learners import Learner
from ops import ratelimit
from progress import containing, prepared, sql
from progress.models import ClaimedToken, LearnerClock, UserContentProgress
from progress.queries import Status
from roleplay.segments import unfinished_roleplays
from roleplay.services import claim_roleplay_attempts


class InvalidProgress(ValueError):
    """A write that cannot be stored (an unknown content type, a non-positive delta, ...)."""


class TokenClaimedElsewhere(Exception):
    """A claim of a token that another account already claimed: nothing moves."""


@dataclass(frozen=True)
class ModuleCounts:
    """A module's status and required steps completed (k of n), as a completion reports it."""

    module_id: UUID
    status: Status
    completed: int
    total: int


@dataclass(frozen=True)
class CompletionResult:
    completed_at: datetime
    newly_completed: bool
    module: ModuleCounts | None  # the module named by module_slug, when it contains the item
    module_newly_completed: bool  # True only on the call whose completion finished that module


@dataclass(frozen=True)
class ClaimReceipt:
    progress_records_claimed: int
    chat_sessions_claimed: int
    lenses_completed: int
    seconds: int
    answers_claimed: int = 0
    roleplays_claimed: int = 0
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
        if self.roleplays_claimed:
            roleplays = self.roleplays_claimed
            parts.append(f"{roleplays} roleplay conversation{'' if roleplays == 1 else 's'}")
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
    statements = {
        "statements": sql.heartbeat_statements,
        "complete": sql.complete_sql,
    }
    return statements[kind](by_user=by_user)


@functools.cache
def _prepared(kind: str, by_user: bool, with_module: bool = False) -> prepared.Statement:
    """The heartbeat's and the completion's PostgreSQL statements, each under its own name (progress/prepared.py)."""
    name = f"progress_{kind}_{'user' if by_user else 'token'}{'_module' if with_module else ''}"
    if kind == "heartbeat":
        return prepared.Statement(name, sql.heartbeat_sql(by_user=by_user))
    if kind == "lookup":
        return prepared.Statement(name, sql.completion_lookup_sql(by_user=by_user, with_module=with_module))
    if kind == "lock":
        return prepared.Statement(name, sql.completion_lock_sql(by_user=by_user))
    if kind == "complete_kept":
        return prepared.Statement(name, sql.complete_kept_sql(by_user=by_user))
    return prepared.Statement(name, sql.complete_checked_sql(by_user=by_user))


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
            prepared.execute(cursor, _prepared("heartbeat", by_user), params)
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


def _require_answers(learner: Learner, test_id: UUID) -> None:
    """Refuse to complete a test while a required question of it has no answer, or a required roleplay is
    not finished (2 queries, 3 with roleplays)."""
    test = ContentItem.objects.only("id", "body").get(pk=test_id)
    if not test.stores_progress:
        raise InvalidProgress(NO_STORED_ID_MESSAGE)
    answers = current_answers(learner=learner, item=test)
    if missing := unanswered_questions(test, answers):
        names = ", ".join(question.label for question in missing)
        raise InvalidProgress(f"Answer every question of this test before completing it. Not answered yet: {names}.")
    if unfinished := unfinished_roleplays(learner=learner, item=test):
        names = ", ".join(roleplay.label for roleplay in unfinished)
        raise InvalidProgress(f"Finish every roleplay of this test before completing it. Not finished yet: {names}.")


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

    `time_spent_s` (the client's own count, accepted because the API's clients send it) is never credited: time
    comes from heartbeats, which the server measures. An item the registry does not know (not synced
    yet) is stored as the API allows, at most PROGRESS_RATE_LIMIT_UNKNOWN_COMPLETIONS per learner and
    window (ops.ratelimit.RateLimited past it). A claimed token raises TokenClaimed, checked under the
    learner's lock so that a claim committing meanwhile is seen.

    A fixed number of statements whatever the module's size: one lookup that takes the learner's lock
    (claimed token, registry item, module by slug); the test's answers (tests only); the item's upsert,
    which on PostgreSQL also checks the token again (after the lock), reads the earlier completion and
    the steps of the modules holding the item (`sql.complete_checked_sql`; SQLite: separate queries);
    the finished modules' and outcomes' rows when this completion finished any.
    Steps come back as plain rows (no model instances), counted here as `derive_status` counts
    (`progress.containing`).

    On PostgreSQL what that reads from content alone (the registry item, the module, the structure of the
    modules holding the item) is kept per request target and content version (`content_loader.kept`): the next
    completion of the same target runs the lock (with the claimed check and the version) and an upsert that
    returns only the learner's completed steps among the kept ones (`sql.complete_kept_sql`), both planned
    in microseconds; the same number of statements, without the joins PostgreSQL spent most of a completion
    planning. After a sync that changed content, the first completion of each target reads it again (one
    statement more, that once).
    """
    if content_type not in LEARNER_CONTENT_TYPES:
        raise InvalidProgress(f"content_type must be one of {', '.join(LEARNER_CONTENT_TYPES)}.")
    if module_slug is not None and (not module_slug or "\x00" in module_slug or len(module_slug) > 300):
        module_slug = None  # as find_by_slug: names no module
    now = timezone.now()
    requested_id = content_id
    with transaction.atomic():
        target = _locked_target(learner, content_id, module_slug)
        if target.item_id is None:
            ratelimit.take(
                scope="unknown-completion",
                identity=learner.label,
                limit=settings.PROGRESS_RATE_LIMIT_UNKNOWN_COMPLETIONS,
                window=settings.PROGRESS_RATE_LIMIT_WINDOW_SECONDS,
            )
        else:
            if target.item_type not in LEARNER_CONTENT_TYPES:
                raise InvalidProgress(f"{content_id} is a {target.item_type}, which is not completed directly.")
            content_id, content_type, content_title = target.item_id, target.item_type, target.item_title
            if content_type == ContentType.TEST:
                _require_answers(learner, content_id)
        completed_at, newly_completed, structure, counted = _complete_row(
            learner, target, content_id=content_id, content_type=content_type, title=content_title, now=now
        )
        if structure is not None and target.structure is None and target.item_id is not None:
            kept.memo.put(_target_key(requested_id, module_slug), replace(target, structure=structure))
        module_id = target.module_id
        if not newly_completed and module_id is None:
            return CompletionResult(completed_at, False, None, False)

        if counted is None:
            counted = _containing(learner, content_id)
        if newly_completed:
            _complete_finished(learner, counted, now)
        counts = counted.get((ContentType.MODULE, module_id)) if module_id else None
        if counts is None:
            return CompletionResult(completed_at, newly_completed, None, False)
        status, completed, total = counts.status(item_done=True)
        before, _, _ = counts.status(item_done=not newly_completed)
        module = ModuleCounts(module_id=module_id, status=status, completed=completed, total=total)
        module_newly_completed = status == Status.COMPLETED and before != Status.COMPLETED
        return CompletionResult(completed_at, newly_completed, module, module_newly_completed)


@dataclass(frozen=True)
class _Target:
    """What a completion request names, as the registry has it: the item (following `replaces:`; None when
    unknown), the module `module_slug` names (None when none), and, once read, the structure of the modules
    holding the item, at content `version` (PostgreSQL only)."""

    item_id: UUID | None
    item_type: str | None
    item_title: str | None
    module_id: UUID | None
    version: str | None = None
    structure: containing.Structure | None = None


def _target_key(content_id: UUID, module_slug: str | None) -> tuple:
    return ("completion-target", connection.alias, content_id, module_slug)


def _locked_target(learner: Learner, content_id: UUID, module_slug: str | None) -> _Target:
    """Take the learner's lock, refuse a claimed token, and find what the request names (1 statement).

    On PostgreSQL what a request named before is kept (`content_loader.kept`) with its content version: the
    statement then only takes the lock, checks the token and reads the version, and the kept target serves
    while the version is the same (else it is looked up again, one more statement, after a sync)."""
    by_user = learner.is_authenticated
    lock_a, lock_b = learner.lock_key
    params = sql.owner_params(learner) | {"lock_a": lock_a, "lock_b": lock_b}
    kept_target = kept.memo.get(_target_key(content_id, module_slug)) if connection.vendor == "postgresql" else None
    with connection.cursor() as cursor:
        if kept_target is not None:
            prepared.execute(cursor, _prepared("lock", by_user), params)
            _locked, claimed, version = cursor.fetchone()
            if claimed:
                raise TokenClaimed()
            if version == kept_target.version:
                return kept_target
        prepared.execute(
            cursor,
            _prepared("lookup", by_user, module_slug is not None),
            params | {"content_id": sql.prep_uuid(content_id), "module_slug": module_slug},
        )
        _locked, claimed, item_id, item_type, item_title, module_id, version = cursor.fetchone()
    if claimed:
        raise TokenClaimed()
    return _Target(
        item_id=sql.from_db_uuid(item_id) if item_id is not None else None,
        item_type=item_type,
        item_title=item_title,
        module_id=sql.from_db_uuid(module_id) if module_id is not None else None,
        version=version,
    )


def _complete_row(
    learner: Learner, target: _Target, *, content_id: UUID, content_type: str, title: str, now: datetime
) -> tuple[datetime, bool, containing.Structure | None, dict[tuple[str, UUID], containing.Counts] | None]:
    """Complete the item's row unless it is already: (its completion time, whether this call completed it,
    the structure of the modules holding it when read, their counts or None when not read yet).

    PostgreSQL: one statement, which also checks again that the token is not claimed and reads the learner's
    completed steps of those modules, from the kept structure (`sql.complete_kept_sql`) or with the structure
    (`sql.complete_checked_sql`, which the item's target then keeps). SQLite: the upsert, then the earlier
    completion when there was one.
    """
    by_user = learner.is_authenticated
    params = sql.owner_params(learner) | {
        "content_id": sql.prep_uuid(content_id),
        "item": sql.prep_uuid(content_id),
        "content_type": content_type,
        "title": title,
        "now": sql.prep_datetime(now),
    }
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and target.structure is not None:
            prepared.execute(cursor, _prepared("complete_kept", by_user), params | {"steps": target.structure.steps})
            claimed, completed_now, completed_before, done = cursor.fetchone()
            if claimed:
                raise TokenClaimed()  # the caller's transaction rolls the row back
            counted = target.structure.counts(set(done))
            return completed_now or completed_before, completed_now is not None, None, counted
        if connection.vendor == "postgresql":
            prepared.execute(cursor, _prepared("complete", by_user), params)
            rows = cursor.fetchall()
            header = next(row for row in rows if row[0] == 0)
            claimed, completed_now, completed_before = header[5], header[7], header[8]
            if claimed:
                raise TokenClaimed()
            steps = [row[1:7] for row in rows if row[0] == 1]
            structure = containing.Structure.of(content_id, steps)
            counted = structure.counts({str(row[3]) for row in steps if row[5]})
            if completed_now is not None:
                return completed_now, True, structure, counted
            return completed_before, False, structure, counted
        cursor.execute(_statement("complete", connection.vendor, by_user), params)
        row = cursor.fetchone()
    if row is not None:
        return sql.from_db_datetime(row[0]), True, None, None
    earlier = (
        UserContentProgress.objects.owned_by(learner)
        .filter(content_id=content_id, completed_at__isnull=False)
        .order_by("completed_at")
        .values_list("completed_at", flat=True)
        .first()
    )
    return earlier, False, None, None


def _containing(learner: Learner, item_id: UUID) -> dict[tuple[str, UUID], containing.Counts]:
    """SQLite: the counts of every module and learning outcome holding the item (1 query)."""
    query, params = sql.containing_steps_sql(learner)
    with connection.cursor() as cursor:
        cursor.execute(query, params | {"item": sql.prep_uuid(item_id)})
        steps = [(*(v if v is None else sql.from_db_uuid(v) for v in row[:4]), *row[4:]) for row in cursor.fetchall()]
    return containing.Structure.of(item_id, steps).counts({str(row[3]) for row in steps if row[5]})


def _complete_finished(learner: Learner, counted: dict[tuple[str, UUID], containing.Counts], now: datetime) -> None:
    """Complete the module and learning-outcome rows the item's completion finished (1 statement)."""
    finished = [key for key, counts in counted.items() if counts.status(item_done=True)[0] == Status.COMPLETED]
    if not finished:
        return
    params = sql.owner_params(learner) | {"now": sql.prep_datetime(now)}
    for i, (row_type, row_id) in enumerate(finished):
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
    # The account's rows under tokens: this one's (claimed above) and late ones under tokens it claimed before.
    rows = list(
        UserContentProgress.objects.select_for_update()
        .owned_by(Learner(user_id=user.pk))
        .filter(session_token__isnull=False)
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
    claim_answer_starts(session_token=session_token, user_id=user.pk)
    roleplays = claim_roleplay_attempts(session_token=session_token, user_id=user.pk)
    lenses = {content_id for _, content_id, kind, completed_at, _ in rows if kind == "lens" and completed_at}
    claimed_seconds = sum(row[4] for row in rows)
    return ClaimReceipt(
        progress_records_claimed=len(rows),
        chat_sessions_claimed=chats,
        lenses_completed=len(lenses),
        seconds=kept,
        answers_claimed=answers,
        roleplays_claimed=roleplays,
        seconds_not_kept=max(0, claimed_seconds - kept),
    )
