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
from django.db.models import Sum
from django.utils import timezone

from chat.questions import current_answers, unanswered_questions
from chat.services import claim_answer_drafts, claim_answer_starts, claim_chat_sessions, claim_question_answers
from content_loader.models import LEARNER_CONTENT_TYPES, NO_STORED_ID_MESSAGE, ContentItem, ContentType
from learners import Learner
from ops import ratelimit
from progress import prepared, sql
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
    Steps come back as plain rows (no model instances), counted here as `derive_status` counts.
    """
    if content_type not in LEARNER_CONTENT_TYPES:
        raise InvalidProgress(f"content_type must be one of {', '.join(LEARNER_CONTENT_TYPES)}.")
    if module_slug is not None and (not module_slug or "\x00" in module_slug or len(module_slug) > 300):
        module_slug = None  # as find_by_slug: names no module
    now = timezone.now()
    by_user = learner.is_authenticated
    owner = sql.owner_params(learner)
    with transaction.atomic():
        lock_a, lock_b = learner.lock_key
        with connection.cursor() as cursor:
            prepared.execute(
                cursor,
                _prepared("lookup", by_user, module_slug is not None),
                owner
                | {
                    "content_id": sql.prep_uuid(content_id),
                    "module_slug": module_slug,
                    "lock_a": lock_a,
                    "lock_b": lock_b,
                },
            )
            _locked, claimed, item_id, item_type, item_title, module_id = cursor.fetchone()
        if claimed:
            raise TokenClaimed()
        if item_id is None:
            ratelimit.take(
                scope="unknown-completion",
                identity=learner.label,
                limit=settings.PROGRESS_RATE_LIMIT_UNKNOWN_COMPLETIONS,
                window=settings.PROGRESS_RATE_LIMIT_WINDOW_SECONDS,
            )
        else:
            if item_type not in LEARNER_CONTENT_TYPES:
                raise InvalidProgress(f"{content_id} is a {item_type}, which is not completed directly.")
            content_id, content_type, content_title = sql.from_db_uuid(item_id), item_type, item_title
            if content_type == ContentType.TEST:
                _require_answers(learner, content_id)
        module_id = sql.from_db_uuid(module_id) if module_id is not None else None
        completed_at, newly_completed, steps = _complete_row(
            learner, content_id=content_id, content_type=content_type, title=content_title, now=now
        )
        if not newly_completed and module_id is None:
            return CompletionResult(completed_at, False, None, False)

        containing = _containing(learner, content_id, steps)
        if newly_completed:
            _complete_finished(learner, containing, now)
        counts = containing.get((ContentType.MODULE, module_id)) if module_id else None
        if counts is None:
            return CompletionResult(completed_at, newly_completed, None, False)
        status, completed, total = counts.status(item_done=True)
        before, _, _ = counts.status(item_done=not newly_completed)
        module = ModuleCounts(module_id=module_id, status=status, completed=completed, total=total)
        module_newly_completed = status == Status.COMPLETED and before != Status.COMPLETED
        return CompletionResult(completed_at, newly_completed, module, module_newly_completed)


def _complete_row(
    learner: Learner, *, content_id: UUID, content_type: str, title: str, now: datetime
) -> tuple[datetime, bool, list[tuple] | None]:
    """Complete the item's row unless it is already: (its completion time, whether this call completed
    it, the steps of the modules holding it or None when not read yet).

    PostgreSQL: one statement, which also checks again that the token is not claimed and reads the steps
    (see `sql.complete_checked_sql`). SQLite: the upsert, then the earlier completion when there was one.
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
        if connection.vendor == "postgresql":
            prepared.execute(cursor, _prepared("complete", by_user), params)
            rows = cursor.fetchall()
            header = next(row for row in rows if row[0] == 0)
            claimed, completed_now, completed_before = header[5], header[7], header[8]
            if claimed:
                raise TokenClaimed()  # the caller's transaction rolls the row back
            steps = [row[1:7] for row in rows if row[0] == 1]
            if completed_now is not None:
                return completed_now, True, steps
            return completed_before, False, steps
        cursor.execute(_statement("complete", connection.vendor, by_user), params)
        row = cursor.fetchone()
    if row is not None:
        return sql.from_db_datetime(row[0]), True, None
    earlier = (
        UserContentProgress.objects.owned_by(learner)
        .filter(content_id=content_id, completed_at__isnull=False)
        .order_by("completed_at")
        .values_list("completed_at", flat=True)
        .first()
    )
    return earlier, False, None


@dataclass(frozen=True)
class _Counts:
    """A module's (or a learning outcome's, in one leaf module) counts around the completed item."""

    required: int
    required_done_other: int  # required steps other than the item, completed
    item_required: bool
    other_done: bool  # any step other than the item completed

    def status(self, *, item_done: bool) -> tuple[Status, int, int]:
        """Status, k and n with the item completed or not: the rule of `derive_status`, on counts."""
        completed = self.required_done_other + (1 if item_done and self.item_required else 0)
        if self.required == 0:
            return (Status.COMPLETED if item_done or self.other_done else Status.NOT_STARTED), 0, 0
        if completed == self.required:
            return Status.COMPLETED, completed, self.required
        return (Status.IN_PROGRESS if completed else Status.NOT_STARTED), completed, self.required


def _containing(learner: Learner, item_id: UUID, steps: list[tuple] | None) -> dict[tuple[str, UUID], _Counts]:
    """Counts of every module and learning outcome holding the item (1 query, none given `steps`): each leaf
    module placing it, the parent of each (its submodules' steps), and the learning outcome each placement
    came through (its steps in that leaf module). Distinct UUIDs, as `derive_status` counts. A learning
    outcome placed in several leaf modules is finished through any of them: its counts are those of the
    most complete.

    `steps`: the rows of `sql.containing_steps_sql` when the upsert read them already (PostgreSQL). The
    UUIDs are counted as integers (a UUID's own hash and equality run in Python, several hundred calls a
    completion of a large module), and the rows grouped in one pass."""
    if steps is None:
        query, params = sql.containing_steps_sql(learner)
        with connection.cursor() as cursor:
            cursor.execute(query, params | {"item": sql.prep_uuid(item_id)})
            steps = cursor.fetchall()
    if connection.vendor != "postgresql":  # psycopg already returns UUIDs
        steps = [(*(v if v is None else sql.from_db_uuid(v) for v in row[:4]), *row[4:]) for row in steps]
    item = item_id.int
    uuids: dict[int, UUID] = {}  # the modules' and outcomes' UUIDs by their integers
    by_module: dict[int, list[tuple]] = {}
    by_parent: dict[int, list[tuple]] = {}
    placements = set()
    for module, parent, outcome, step, optional, done in steps:
        row = (module.int, parent and parent.int, outcome and outcome.int, step.int, bool(optional), bool(done))
        uuids[row[0]] = module
        by_module.setdefault(row[0], []).append(row)
        if parent is not None:
            uuids[row[1]] = parent
            by_parent.setdefault(row[1], []).append(row)
        if outcome is not None:
            uuids[row[2]] = outcome
        if row[3] == item:
            placements.add(row[:3])
    groups: dict[tuple[str, int], list[list[tuple]]] = {}
    for leaf, parent, outcome in placements:
        groups.setdefault((ContentType.MODULE, leaf), [by_module[leaf]])
        if parent is not None:
            groups.setdefault((ContentType.MODULE, parent), [by_parent[parent]])
        if outcome is not None:
            groups.setdefault((ContentType.LEARNING_OUTCOME, outcome), []).append(
                [r for r in by_module[leaf] if r[2] == outcome]
            )
    found: dict[tuple[str, UUID], _Counts] = {}
    for (kind, number), step_lists in groups.items():
        key = (kind, uuids[number])
        for rows in step_lists:
            required = {r[3] for r in rows if not r[4]}
            counts = _Counts(
                required=len(required),
                required_done_other=len({r[3] for r in rows if not r[4] and r[5] and r[3] != item}),
                item_required=item in required,
                other_done=any(r[5] and r[3] != item for r in rows),
            )
            if key not in found or counts.status(item_done=True)[0] == Status.COMPLETED:
                found[key] = counts
    return found


def _complete_finished(learner: Learner, containing: dict[tuple[str, UUID], _Counts], now: datetime) -> None:
    """Complete the module and learning-outcome rows the item's completion finished (1 statement)."""
    finished = [key for key, counts in containing.items() if counts.status(item_done=True)[0] == Status.COMPLETED]
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
