"""Per-learner rate limits that hold across server processes, parallel requests and "Delete my data".

The API is one call before the action it limits::

    from ops import ratelimit

    try:
        ratelimit.take(scope="tutor-call", identity=ratelimit.identity_of(user_id=..., session_token=...),
                       limit=settings.CHAT_RATE_LIMIT_MESSAGES, window=settings.CHAT_RATE_LIMIT_WINDOW_SECONDS)
    except ratelimit.RateLimited as refusal:
        ...  # answer 429 with refusal.retry_after (seconds) in Retry-After, and refusal.wait in words

`take` counts the action (a row of `RateLimitHit`) unless `limit` actions of that scope and identity were
counted in the last `window` seconds, in which case it raises `RateLimited` and counts nothing. Counting
and checking happen in one transaction under a lock of that scope and identity (a PostgreSQL advisory
lock; SQLite serializes writes, and the row is written before it is counted), so parallel requests
cannot pass the limit between them. Call it outside a transaction (a model call must not run in one
anyway) or inside the transaction of the action it counts, so that a rolled-back action does not count.

Scopes in use: `tutor-call` (every model call a learner causes: chat replies, "Try again", feedback,
roleplay replies; the system's own assessments do not count), `chat-message`, `answer-save`,
`unknown-completion`. Records belong to the identity for the window only: `move` hands them to the
learner's next identity when a token is claimed or a learner's data is deleted, and expired rows are
removed a few at a time by every `take`.
"""

import math
import zlib
from datetime import timedelta
from uuid import UUID

from django.db import connection, transaction
from django.utils import timezone

from ops.models import RateLimitHit

_LOCK_NAMESPACE = 0x5241544C  # "RATL"
_PURGE_BATCH = 200


class RateLimited(Exception):
    """The limit of a scope is reached: try again in `retry_after` seconds."""

    def __init__(self, *, scope: str, limit: int, window: int, retry_after: int) -> None:
        super().__init__(f"{scope}: {limit} per {window} s reached; retry after {retry_after} s")
        self.scope = scope
        self.limit = limit
        self.window = window
        self.retry_after = retry_after

    @property
    def wait(self) -> str:
        """How long to wait, in words: "40 seconds", "3 minutes"."""
        return duration(self.retry_after)

    @property
    def window_text(self) -> str:
        """The window in words: "5 minutes"."""
        return duration(self.window)


def duration(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} minutes"
    return f"{round(minutes / 60)} hours"


def identity_of(*, user_id: int | None, session_token: UUID | None) -> str:
    """The identity a learner's actions are counted under: "user 12", else "token <uuid>" (as `Learner.label`)."""
    if user_id is not None:
        return f"user {user_id}"
    if session_token is not None:
        return f"token {session_token}"
    raise ValueError("A learner is an account or an anonymous token; neither was given.")


def _lock(scope: str, identity: str) -> None:
    if connection.vendor != "postgresql":
        return  # SQLite: the INSERT below takes the database's write lock first
    key = zlib.crc32(f"{scope}|{identity}".encode())
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, key - (1 << 32) * (key >> 31)])


def take(*, scope: str, identity: str, limit: int, window: int) -> None:
    """Count one action of `identity` in `scope`; past `limit` per `window` seconds raise RateLimited instead."""
    now = timezone.now()
    since = now - timedelta(seconds=window)
    with transaction.atomic():
        _lock(scope, identity)
        hit = RateLimitHit.objects.create(
            scope=scope, identity=identity, at=now, expires_at=now + timedelta(seconds=window)
        )
        times = list(
            RateLimitHit.objects.filter(scope=scope, identity=identity, at__gt=since)
            .exclude(pk=hit.pk)
            .order_by("at")
            .values_list("at", flat=True)
        )
        if len(times) >= limit:  # raising rolls the row back: a refused action is not counted
            # A slot frees when the oldest action that keeps the count at the limit leaves the window.
            frees_at = times[len(times) - limit] + timedelta(seconds=window)
            retry_after = max(1, math.ceil((frees_at - now).total_seconds()))
            raise RateLimited(scope=scope, limit=limit, window=window, retry_after=retry_after)
        _purge_expired(now)


def _purge_expired(now) -> None:
    """Delete a batch of anyone's expired rows, skipping rows another request is deleting (no waits)."""
    table = RateLimitHit._meta.db_table
    skip_locked = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    expires = RateLimitHit._meta.get_field("expires_at").get_db_prep_value(now, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE id IN "
            f"(SELECT id FROM {table} WHERE expires_at <= %s ORDER BY id LIMIT {_PURGE_BATCH}{skip_locked})",
            [expires],
        )


def move(*, old_identity: str, new_identity: str) -> int:
    """Count the actions of one identity for another (a claimed token's for the account); returns how many."""
    return RateLimitHit.objects.filter(identity=old_identity).update(identity=new_identity)
