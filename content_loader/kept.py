"""What is read or rendered from content alone, kept per process until the content changes.

Content changes only when a sync writes it, and every learner sees the same modules, steps, lens bodies
and resolved links; only statuses, counts and answers are theirs. So the pages (learn.fragments) and the
completion (progress.services) keep those parts here, keyed by the **content version** and the ids they
depend on, and overlay the learner's rows read fresh on every request.

The version is a fact of the shared database: on PostgreSQL the `ContentVersion` row, which triggers give a
new number from a sequence whenever a statement writes a row of a content table (migration 0004: never a
number seen before, even after a rollback; a statement that writes nothing keeps it) or of a course run's
dates (learn migration 0002); on SQLite the
registry's latest `last_synced_at` and `retired_at` and its item count (a sync writes `last_synced_at` on
every item it adds or changes). So each server's own memo is correct without invalidation messages, no
stale part outlives a sync on any number of servers, and a hit costs a dict lookup, not a round trip.

Kept objects are shared between requests and threads: callers only read them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

MEMO_SIZE = 4096  # entries per process: a version's courses, modules, lenses and rendered rows, with room


class Memo:
    """A bounded, thread-safe mapping from content-addressed keys to values built once (least recently used
    goes first)."""

    def __init__(self, size: int = MEMO_SIZE) -> None:
        self.size = size  # 0 keeps nothing: every value is built again (bench/profile_pages.py's "off" rounds)
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The value kept under `key`, or `default`."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        return default

    def put(self, key: Hashable, value: Any) -> None:
        if not self.size:
            return
        with self._lock:
            self._values[key] = value
            while len(self._values) > self.size:
                self._values.popitem(last=False)

    def get_or_build(self, key: Hashable, build: Callable[[], Any]) -> Any:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            value = build()  # outside the lock: two threads may build the same value; both are the same
            self.put(key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


memo = Memo()
_MISSING = object()

# PostgreSQL: one row by its key. 0 when the row is missing (a flushed test database before any write).
_POSTGRESQL_VERSION_SQL = (
    "SELECT CAST(COALESCE(MAX(version), 0) AS TEXT) FROM content_loader_contentversion WHERE id = 1"
)
# SQLite (no triggers): one scan of the registry.
_SQLITE_VERSION_SQL = (
    "SELECT COALESCE(CAST(MAX(last_synced_at) AS TEXT), '') || '/' || COALESCE(CAST(MAX(retired_at) AS TEXT), '')"
    " || '/' || CAST(COUNT(*) AS TEXT) FROM content_loader_contentitem"
)


def version_sql() -> str:
    """A query with no input returning the content version as text, for this database."""
    return _POSTGRESQL_VERSION_SQL if connection.vendor == "postgresql" else _SQLITE_VERSION_SQL


def with_content_version(items: QuerySet) -> QuerySet:
    """The items, each with `content_version` annotated: the pages read it in their course's own query."""
    return items.annotate(content_version=RawSQL(version_sql(), ()))


def key_of(version: str) -> str:
    """A version as memo keys hold it: per database alias, so two databases never share an entry."""
    return f"{connection.alias}:{version}"


def content_version(item=None) -> str:
    """The content version (as `key_of` gives it): from the annotation `with_content_version` put on `item`
    (no query of its own), else by one query."""
    version = getattr(item, "content_version", None)
    if version is None:
        with connection.cursor() as cursor:
            cursor.execute(version_sql())
            (version,) = cursor.fetchone()
        if item is not None:
            item.content_version = version
    return key_of(version)
