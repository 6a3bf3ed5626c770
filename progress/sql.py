"""The hand-written SQL of the progress write paths, for PostgreSQL and SQLite.

Each write is an `INSERT ... ON CONFLICT (...) WHERE ... DO UPDATE` on the partial unique index of the
learner's kind (account or token), so a missing row is created and an existing one updated in the same
statement, race-free. Both backends speak this upsert syntax; they differ in date arithmetic and in the
names of the two-argument min and max, which `Dialect` supplies. Parameters are named (`%(name)s`) and
prepared with the model fields, so UUIDs and datetimes are stored as Django stores them on each backend.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from django.conf import settings
from django.db import connection
from django.utils import timezone

from content_loader import kept
from content_loader.models import LEARNER_CONTENT_TYPES
from progress.models import LearnerClock, UserContentProgress

# The registry types progress is kept for, as an SQL list (constants of the model, never user input).
_PROGRESS_TYPES = "(" + ", ".join(f"'{content_type.value}'" for content_type in LEARNER_CONTENT_TYPES) + ")"

TABLE = UserContentProgress._meta.db_table
COLUMNS = (
    "user_id, session_token, content_id, content_type, content_title, started_at, "
    "time_to_complete_s, total_time_spent_s, completed_at, last_heartbeat_at"
)
# Seconds a heartbeat may claim beyond the time since the previous one: absorbs network and timer jitter.
HEARTBEAT_SLACK_SECONDS = 5


@dataclass(frozen=True)
class Dialect:
    greatest: str
    least: str
    # SQL for the whole seconds from the timestamp `{col}` to the timestamp `{now}`.
    seconds_since: str
    # SQL for max(`{now}`, `{col}` + `{secs}` seconds), as a timestamp value of the column's type.
    advance: str


POSTGRESQL = Dialect(
    greatest="GREATEST",
    least="LEAST",
    seconds_since="FLOOR(EXTRACT(EPOCH FROM ({now} - {col})))::integer",
    advance="GREATEST({now}, {col} + ({secs}) * INTERVAL '1 second')",
)
SQLITE = Dialect(
    greatest="max",
    least="min",
    seconds_since="CAST((julianday({now}) - julianday({col})) * 86400.0 AS INTEGER)",
    advance=(
        "strftime('%%Y-%%m-%%d %%H:%%M:%%f', max(julianday({now}), COALESCE(julianday({col}) + ({secs}) / 86400.0, 0)))"
    ),
)


def dialect() -> Dialect:
    return POSTGRESQL if connection.vendor == "postgresql" else SQLITE


def conflict_target(*, by_user: bool) -> str:
    if by_user:
        return "(user_id, content_id) WHERE user_id IS NOT NULL"
    return "(session_token, content_id) WHERE session_token IS NOT NULL"


def _field(name: str):
    return UserContentProgress._meta.get_field(name)


def prep_uuid(value: UUID | None):
    return _field("content_id").get_db_prep_value(value, connection)


def prep_datetime(value: datetime | None):
    return _field("completed_at").get_db_prep_value(value, connection)


def from_db_datetime(value) -> datetime | None:
    """A datetime read by a raw cursor, as the ORM would return it (SQLite hands back text)."""
    if value is None:
        return None
    if isinstance(value, datetime):  # SQLite's registered converters return naive UTC datetimes
        return timezone.make_aware(value, UTC) if timezone.is_naive(value) else value
    expression = _field("completed_at").get_col(TABLE)
    converters = connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)
    for converter in converters:
        value = converter(value, expression, connection)
    return value


def from_db_uuid(value) -> UUID:
    """A UUID read by a raw cursor (SQLite hands back 32 hex digits)."""
    return value if isinstance(value, UUID) else UUID(value)


def owner_params(learner) -> dict:
    return {"user_id": learner.user_id, "token": prep_uuid(learner.session_token)}


CLOCK_TABLE = LearnerClock._meta.db_table


def clock_conflict_target(*, by_user: bool) -> str:
    return "(user_id) WHERE user_id IS NOT NULL" if by_user else "(session_token) WHERE session_token IS NOT NULL"


def _known_item() -> str:
    """SQL for the (type, title) of the progress item a heartbeat names: its own, or the item replacing it."""
    return f"""
        SELECT ci.content_type, ci.title FROM content_loader_contentitem ci
        WHERE ci.content_type IN {_PROGRESS_TYPES}
          AND (ci.id = %(content_id)s
               OR ci.id IN (SELECT r.item_id FROM content_loader_replacedid r WHERE r.old_id = %(content_id)s))
        LIMIT 1
    """


def _live() -> str:
    """SQL for one row unless the learner is a token an account claimed (a dead token writes nothing)."""
    return "SELECT 1 AS ok WHERE NOT EXISTS (SELECT 1 FROM progress_claimedtoken t WHERE t.token = %(token)s)"


def _clock_upsert(*, by_user: bool, source: str) -> str:
    """Insert or advance the learner's clock from `source` (a SELECT of the new clock row's values).

    The credit is min(claimed, seconds since credited_until + slack), at least 0, and credited_until
    moves to max(now, credited_until + credit): heartbeats in parallel (tabs, a loop, 200 items at once)
    share the learner's wall-clock time instead of each getting their own.
    """
    d = dialect()
    since = d.seconds_since.format(now="EXCLUDED.credited_until", col="c.credited_until")
    claimed = "EXCLUDED.last_credit_s"
    credit = f"{d.greatest}(0, {d.least}({claimed}, {since} + {HEARTBEAT_SLACK_SECONDS}))"
    advance = d.advance.format(now="EXCLUDED.credited_until", col="c.credited_until", secs=credit)
    return f"""
        INSERT INTO {CLOCK_TABLE} AS c (user_id, session_token, credited_until, last_credit_s)
        {source}
        ON CONFLICT {clock_conflict_target(by_user=by_user)} DO UPDATE SET
            last_credit_s = {credit},
            credited_until = {advance}
        RETURNING last_credit_s
    """


def _row_upsert(*, by_user: bool, source: str) -> str:
    """Create or credit the item's row from `source` (a SELECT of the new row's values)."""
    d = dialect()
    latest = f"COALESCE({d.greatest}(p.last_heartbeat_at, EXCLUDED.last_heartbeat_at), EXCLUDED.last_heartbeat_at)"
    return f"""
        INSERT INTO {TABLE} AS p ({COLUMNS})
        {source}
        ON CONFLICT {conflict_target(by_user=by_user)} DO UPDATE SET
            total_time_spent_s = p.total_time_spent_s + EXCLUDED.total_time_spent_s,
            time_to_complete_s = p.time_to_complete_s
                                 + CASE WHEN p.completed_at IS NULL THEN EXCLUDED.total_time_spent_s ELSE 0 END,
            last_heartbeat_at = {latest}
    """


def heartbeat_sql(*, by_user: bool) -> str:
    """PostgreSQL: the whole heartbeat in one statement; answers (item known, learner live, seconds credited).

    Nothing is written for an item the registry does not know or for a claimed token. Otherwise the
    learner's clock decides the credit (see `_clock_upsert`; the first heartbeat of a learner credits
    %(capped)s, the claim capped by PROGRESS_MAX_HEARTBEAT_SECONDS) and the item's row gets it, created if
    missing; time_to_complete_s stops growing once the item is completed.
    """
    owner = "CAST(%(user_id)s AS bigint), CAST(%(token)s AS uuid)"
    now = "CAST(%(now)s AS timestamptz)"
    clock = _clock_upsert(by_user=by_user, source=f"SELECT {owner}, {now}, CAST(%(capped)s AS integer) FROM item, live")
    row = _row_upsert(
        by_user=by_user,
        source=(
            f"SELECT {owner}, CAST(%(content_id)s AS uuid), item.content_type, item.title, {now}, "
            f"clock.last_credit_s, clock.last_credit_s, NULL, {now} FROM item, clock"
        ),
    )
    return f"""
        WITH item AS ({_known_item()}), live AS ({_live()}), clock AS ({clock}), credited AS ({row} RETURNING 1)
        SELECT (SELECT COUNT(*) FROM item), (SELECT COUNT(*) FROM live), COALESCE((SELECT last_credit_s FROM clock), 0)
        FROM (SELECT COUNT(*) FROM credited) AS written
    """


def heartbeat_statements(*, by_user: bool) -> tuple[str, str, str, str]:
    """SQLite (no writes inside WITH): the same heartbeat as four statements, run in one transaction.

    The item's (type, title); the claimed-token check; the clock (returning the credit); the row.
    """
    clock = _clock_upsert(by_user=by_user, source="SELECT %(user_id)s, %(token)s, %(now)s, %(capped)s")
    row = _row_upsert(
        by_user=by_user,
        source=(
            "SELECT %(user_id)s, %(token)s, %(content_id)s, %(content_type)s, %(title)s, %(now)s, "
            "%(credit)s, %(credit)s, NULL, %(now)s WHERE 1"
        ),
    )
    return _known_item(), _live(), clock, row


def complete_sql(*, by_user: bool) -> str:
    """Create or complete the row unless already completed; returns a row only when this call completed it.

    Client-reported seconds are never credited: time comes from heartbeats only (the server measured it).
    """
    return f"""
        INSERT INTO {TABLE} AS p ({COLUMNS})
        VALUES (%(user_id)s, %(token)s, %(content_id)s, %(content_type)s, %(title)s,
                %(now)s, 0, 0, %(now)s, NULL)
        ON CONFLICT {conflict_target(by_user=by_user)} DO UPDATE SET
            completed_at = EXCLUDED.completed_at,
            content_type = EXCLUDED.content_type,
            content_title = CASE WHEN EXCLUDED.content_title <> '' THEN EXCLUDED.content_title
                                 ELSE p.content_title END
        WHERE p.completed_at IS NULL
        RETURNING completed_at, time_to_complete_s
    """


def complete_many_sql(*, by_user: bool, rows: int) -> str:
    """Complete several module and learning-outcome rows; returns the content ids this call completed."""
    values = ", ".join(
        f"(%(user_id)s, %(token)s, %(id{i})s, %(type{i})s, "
        f"COALESCE((SELECT title FROM content_loader_contentitem WHERE id = %(id{i})s), ''), "
        "%(now)s, 0, 0, %(now)s, NULL)"
        for i in range(rows)
    )
    return f"""
        INSERT INTO {TABLE} AS p ({COLUMNS})
        VALUES {values}
        ON CONFLICT {conflict_target(by_user=by_user)} DO UPDATE SET
            completed_at = EXCLUDED.completed_at,
            content_title = EXCLUDED.content_title
        WHERE p.completed_at IS NULL
        RETURNING content_id
    """


def merge_rows_sql(*, row_ids: int, by_user: bool, follow_replaced: bool = False) -> str:
    """Merge locked rows into the rows of one owner, one per content id: the claiming merge rules.

    The owner is `%(user_id)s` (by_user) or `%(token)s`. Per content id: earliest started_at; earliest
    non-null completed_at with its time_to_complete_s (summed while neither side is completed); summed
    total_time_spent_s, at most the wall-clock span it was earned in (`wall_clock_bound`); latest
    last_heartbeat_at. With follow_replaced, a row stored under an old UUID
    that a newer item `replaces:` goes to the newer item's row, which takes the registry's type and title.
    The caller deletes the merged rows afterwards.
    """
    d = dialect()
    ids = ", ".join(f"%(row{i})s" for i in range(row_ids))
    if follow_replaced:
        source = (
            f"SELECT s.*, COALESCE(r.item_id, s.content_id) AS target FROM {TABLE} s "
            f"LEFT JOIN content_loader_replacedid r ON r.old_id = s.content_id WHERE s.id IN ({ids})"
        )
        registry = "SELECT ci.{} FROM content_loader_contentitem ci WHERE ci.id = a.target AND ci.content_type IN "
        registry += _PROGRESS_TYPES
        content_type = f"COALESCE(({registry.format('content_type')}), MAX(a.content_type))"
        title = f"COALESCE(({registry.format('title')}), MAX(a.content_title))"
    else:
        source = f"SELECT s.*, s.content_id AS target FROM {TABLE} s WHERE s.id IN ({ids})"
        content_type, title = "MAX(a.content_type)", "MAX(a.content_title)"
    if by_user:
        owner = "CAST(%(user_id)s AS bigint), NULL"
    else:  # an untyped parameter in a SELECT list would be text on PostgreSQL; SQLite stores hex text
        owner = "NULL, " + ("CAST(%(token)s AS uuid)" if connection.vendor == "postgresql" else "%(token)s")
    earliest_completed_ttc = (
        f"(SELECT e.time_to_complete_s FROM ({source}) e WHERE e.target = a.target "
        "AND e.completed_at IS NOT NULL ORDER BY e.completed_at, e.id LIMIT 1)"
    )
    owner_row_wins = (
        "(EXCLUDED.completed_at IS NULL OR (p.completed_at IS NOT NULL AND p.completed_at <= EXCLUDED.completed_at))"
    )
    neither_completed = "(p.completed_at IS NULL AND EXCLUDED.completed_at IS NULL)"
    # Merged time is bounded by the span it could have been earned in: one person is in one place at a
    # time, so twenty tokens' 120 s on one lens in the same minute are not 40 minutes. See wall_clock_bound.
    merged_total = wall_clock_bound(
        "SUM(a.total_time_spent_s)",
        keep="MAX(a.total_time_spent_s)",
        earliest="MIN(a.started_at)",
        latest="MAX(COALESCE(a.last_heartbeat_at, a.started_at))",
    )
    total = wall_clock_bound(
        "p.total_time_spent_s + EXCLUDED.total_time_spent_s",
        keep=f"{d.greatest}(p.total_time_spent_s, EXCLUDED.total_time_spent_s)",
        earliest=f"{d.least}(p.started_at, EXCLUDED.started_at)",
        latest=(
            f"{d.greatest}(COALESCE(p.last_heartbeat_at, p.started_at), "
            "COALESCE(EXCLUDED.last_heartbeat_at, EXCLUDED.started_at))"
        ),
    )
    return f"""
        INSERT INTO {TABLE} AS p ({COLUMNS})
        SELECT {owner}, a.target, {content_type}, {title},
               MIN(a.started_at),
               {d.least}(COALESCE({earliest_completed_ttc}, SUM(a.time_to_complete_s)), {merged_total}),
               {merged_total}, MIN(a.completed_at), MAX(a.last_heartbeat_at)
        FROM ({source}) a
        GROUP BY a.target
        ON CONFLICT {conflict_target(by_user=by_user)} DO UPDATE SET
            started_at = {d.least}(p.started_at, EXCLUDED.started_at),
            time_to_complete_s = CASE
                WHEN {neither_completed} THEN {d.least}(p.time_to_complete_s + EXCLUDED.time_to_complete_s, {total})
                WHEN {owner_row_wins} THEN p.time_to_complete_s
                ELSE EXCLUDED.time_to_complete_s END,
            completed_at = CASE WHEN {owner_row_wins} THEN p.completed_at ELSE EXCLUDED.completed_at END,
            total_time_spent_s = {total},
            last_heartbeat_at = CASE
                WHEN p.last_heartbeat_at IS NULL THEN EXCLUDED.last_heartbeat_at
                WHEN EXCLUDED.last_heartbeat_at IS NULL THEN p.last_heartbeat_at
                ELSE {d.greatest}(p.last_heartbeat_at, EXCLUDED.last_heartbeat_at) END,
            content_title = CASE WHEN p.content_title = '' THEN EXCLUDED.content_title ELSE p.content_title END
        RETURNING id, content_id, total_time_spent_s
    """


def wall_clock_bound(summed: str, *, keep: str, earliest: str, latest: str) -> str:
    """SQL for merged seconds no wall-clock contradicts: `summed`, at most the span they were earned in.

    A row's seconds were credited between its first heartbeat (which may claim up to
    PROGRESS_MAX_HEARTBEAT_SECONDS before it) and its last, plus the slack: so the rows of one item,
    merged, hold at most (latest heartbeat - earliest start) + that maximum + the slack. Never below
    `keep` (the largest single row), so a merge loses no row's own time.
    """
    d = dialect()
    span = d.seconds_since.format(now=latest, col=earliest)
    allowance = int(settings.PROGRESS_MAX_HEARTBEAT_SECONDS) + HEARTBEAT_SLACK_SECONDS
    return f"{d.greatest}({keep}, {d.least}({summed}, {span} + {allowance}))"


def import_completion_sql() -> str:
    """Record an account's completion of an item (`%(type)s`) carried over from elsewhere; returns the row's id.

    An existing row keeps the earlier start and the earlier completion (the claiming rule); times and
    the title the row already has stay as they are.
    """
    d = dialect()
    return f"""
        INSERT INTO {TABLE} AS p ({COLUMNS})
        VALUES (%(user_id)s, NULL, %(content_id)s, %(type)s, %(title)s, %(started)s, 0, 0, %(completed)s, NULL)
        ON CONFLICT {conflict_target(by_user=True)} DO UPDATE SET
            started_at = {d.least}(p.started_at, EXCLUDED.started_at),
            completed_at = CASE WHEN p.completed_at IS NULL OR EXCLUDED.completed_at < p.completed_at
                                THEN EXCLUDED.completed_at ELSE p.completed_at END
        RETURNING id
    """


def _claimed(*, by_user: bool) -> str:
    """SQL for whether the learner is a token an account claimed (an account never is)."""
    return "FALSE" if by_user else "EXISTS (SELECT 1 FROM progress_claimedtoken t WHERE t.token = %(token)s)"


def _owned(*, by_user: bool) -> str:
    """SQL for "row p belongs to the learner" (`progress.models.belongs_to`), for the completion's statements."""
    if by_user:
        claimed = "SELECT token FROM progress_claimedtoken WHERE user_id = %(user_id)s"
        return f"(p.user_id = %(user_id)s OR p.session_token IN ({claimed}))"
    return "p.session_token = %(token)s"


def completion_lookup_sql(*, by_user: bool, with_module: bool) -> str:
    """One row: the learner's lock taken (PostgreSQL: `%(lock_a)s, %(lock_b)s`, see services.lock_learners),
    whether the token was claimed, the registry item (id, type, title) for `%(content_id)s` (following
    `replaces:`, its own UUID first), and the id of the active module `%(module_slug)s` names (its slug
    first, else a slug alias).

    The statement's snapshot may predate the lock, so the claimed check here refuses early only:
    `complete_checked_sql` checks again after the lock (SQLite serializes writes, so there it is final).
    Last, the content version (`content_loader.kept`) the registry rows were read at.
    """
    postgresql = connection.vendor == "postgresql"
    lock = "pg_advisory_xact_lock(%(lock_a)s, %(lock_b)s)" if postgresql else "NULL"
    version = f"({kept.version_sql()})" if postgresql else "NULL"  # what is kept is PostgreSQL's only
    claimed = _claimed(by_user=by_user)
    # Each branch of the UNIONs uses an index (an OR across them would scan the table).
    item = """
        SELECT * FROM (
            SELECT 0 AS priority, ci.id, ci.content_type, ci.title FROM content_loader_contentitem ci
            WHERE ci.id = %(content_id)s
            UNION ALL
            SELECT 1, ci.id, ci.content_type, ci.title FROM content_loader_contentitem ci
            JOIN content_loader_replacedid r ON r.item_id = ci.id WHERE r.old_id = %(content_id)s
        ) found ORDER BY priority LIMIT 1
    """
    module = "SELECT NULL AS id"
    if with_module:
        module = """
            SELECT * FROM (
                SELECT 0 AS priority, m.id FROM content_loader_contentitem m
                WHERE m.content_type = 'module' AND m.retired_at IS NULL AND m.slug = %(module_slug)s
                UNION ALL
                SELECT 1, m.id FROM content_loader_contentitem m
                JOIN content_loader_slugalias a ON a.item_id = m.id
                WHERE m.content_type = 'module' AND m.retired_at IS NULL
                  AND a.content_type = 'module' AND a.slug = %(module_slug)s
            ) found ORDER BY priority LIMIT 1
        """
    return f"""
        SELECT c.locked, c.claimed, i.id, i.content_type, i.title, m.id, {version}
        FROM (SELECT {lock} AS locked, {claimed} AS claimed) c
        LEFT JOIN ({item}) i ON 1 = 1
        LEFT JOIN ({module}) m ON 1 = 1
    """


def completion_lock_sql(*, by_user: bool) -> str:
    """PostgreSQL, a completion whose registry rows are kept (progress.services): one row, the learner's lock
    taken, whether the token was claimed (an early refusal, as in `completion_lookup_sql`), and the content
    version, which says whether what is kept still holds."""
    return f"""
        SELECT pg_advisory_xact_lock(%(lock_a)s, %(lock_b)s), {_claimed(by_user=by_user)}, ({kept.version_sql()})
    """


def complete_checked_sql(*, by_user: bool) -> str:
    """PostgreSQL: `complete_sql` and, in the same statement, whether the token was claimed, the
    learner's earlier completion of the item (what an idempotent repeat reports), and the rows of
    `containing_steps_sql` for the item (`%(item)s`).

    The first row is (0, NULL x 4, claimed, NULL, completed now, completed before); the step rows follow
    as (1, the step's columns, NULL, NULL). Run after the learner's lock, in a statement of its own, so
    its snapshot sees every claim and completion committed before the lock was granted (and not this
    statement's own upsert: the caller counts the item as done). A claimed token's row is rolled back by
    the caller.
    """
    steps = _containing_steps(by_user=by_user)
    nothing = "CAST(NULL AS uuid)"
    return f"""
        WITH up AS ({complete_sql(by_user=by_user)})
        SELECT 0, {nothing}, {nothing}, {nothing}, {nothing}, {_claimed(by_user=by_user)}, CAST(NULL AS boolean),
               (SELECT completed_at FROM up),
               (SELECT MIN(p.completed_at) FROM {TABLE} p
                WHERE {_owned(by_user=by_user)} AND p.content_id = %(content_id)s AND p.completed_at IS NOT NULL)
        UNION ALL
        SELECT 1, s.*, CAST(NULL AS timestamptz), CAST(NULL AS timestamptz) FROM ({steps}) s
    """


def complete_kept_sql(*, by_user: bool) -> str:
    """PostgreSQL, a completion whose modules' steps are kept: `complete_sql` and, in the same statement,
    whether the token was claimed, the learner's earlier completion of the item, and which of the steps
    `%(steps)s` (a uuid[] literal) the learner completed, as text (completions under an old UUID count for
    the item replacing it). One row: (claimed, completed now, completed before, completed steps). Run after
    the learner's lock, like `complete_checked_sql`; index lookups only, so it plans in microseconds."""
    return f"""
        WITH up AS ({complete_sql(by_user=by_user)})
        SELECT {_claimed(by_user=by_user)},
               (SELECT completed_at FROM up),
               (SELECT MIN(p.completed_at) FROM {TABLE} p
                WHERE {_owned(by_user=by_user)} AND p.content_id = %(content_id)s AND p.completed_at IS NOT NULL),
               ARRAY(SELECT CAST(COALESCE(r.item_id, p.content_id) AS text) FROM {TABLE} p
                     LEFT JOIN content_loader_replacedid r ON r.old_id = p.content_id
                     WHERE {_owned(by_user=by_user)} AND p.completed_at IS NOT NULL
                       AND COALESCE(r.item_id, p.content_id) = ANY(CAST(%(steps)s AS uuid[])))
    """


def containing_steps_sql(learner) -> tuple[str, dict]:
    """A query for the steps of every active leaf module placing `%(item)s` and of their sibling
    submodules: (module id, its parent's id, learning outcome id, item id, optional, whether the learner
    completed it). Completions under an old UUID count for the item replacing it, as everywhere
    (`UserContentProgressQuerySet.with_current_id`). Plain rows of a 4-table join: cheaper to plan than
    counting in SQL, and few.
    """
    return _containing_steps(by_user=learner.user_id is not None), owner_params(learner)


def _containing_steps(*, by_user: bool) -> str:
    return f"""
        SELECT e.module_id, m.parent_id, e.learning_outcome_id, e.item_id, e.optional,
               e.item_id IN (SELECT COALESCE(r.item_id, p.content_id) FROM {TABLE} p
                             LEFT JOIN content_loader_replacedid r ON r.old_id = p.content_id
                             WHERE {_owned(by_user=by_user)} AND p.completed_at IS NOT NULL)
        FROM content_loader_moduleentry e JOIN content_loader_contentitem m ON m.id = e.module_id
        WHERE m.retired_at IS NULL AND e.module_id IN (
            SELECT pe.module_id FROM content_loader_moduleentry pe WHERE pe.item_id = %(item)s
            UNION
            SELECT sub.id FROM content_loader_contentitem sub WHERE sub.parent_id IN (
                SELECT l.parent_id FROM content_loader_contentitem l
                JOIN content_loader_moduleentry pe ON pe.module_id = l.id
                WHERE pe.item_id = %(item)s AND l.retired_at IS NULL))
    """
