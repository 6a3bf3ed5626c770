"""Server-side prepared statements for the hottest writes (PostgreSQL): planned once per connection.

The completion's two statements join several tables; PostgreSQL spends more time planning them (about
0.5-0.9 ms each on the real vault) than running them (0.1-0.3 ms). Prepared, they are planned once per
database connection (after five executions PostgreSQL keeps a generic plan), which is what brings a
completion close to its floor (bench/run.py). Statements are prepared by name on first use, in the same
round trip as their first execution, so a query count never depends on it. A PREPARE survives a
rollback, and a new connection (CONN_MAX_AGE, a failed health check) starts with none.

Off with `DB_PREPARED_STATEMENTS=false` (behind PgBouncer in transaction pooling mode before 1.21,
whose server connections change under a client): the statements then run as plain SQL.
"""

import re
import weakref
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection

_PARAMETER = re.compile(r"%\((\w+)\)s")
# Per raw connection (psycopg's), the names prepared on it.
_prepared: "weakref.WeakKeyDictionary[object, set[str]]" = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Statement:
    """SQL with `%(name)s` parameters, preparable under `name` with positional `$n` ones."""

    name: str
    sql: str
    names: tuple[str, ...] = field(init=False)
    positional: str = field(init=False)

    def __post_init__(self) -> None:
        order: list[str] = []

        def number(match: re.Match) -> str:
            if match.group(1) not in order:
                order.append(match.group(1))
            return f"${order.index(match.group(1)) + 1}"

        object.__setattr__(self, "positional", _PARAMETER.sub(number, self.sql))
        object.__setattr__(self, "names", tuple(order))


def execute(cursor, statement: Statement, params: dict) -> None:
    """Run the statement with `params`, prepared on this connection when possible; results on `cursor`."""
    if connection.vendor != "postgresql" or not settings.DB_PREPARED_STATEMENTS:
        cursor.execute(statement.sql, params)
        return
    raw = connection.connection
    known = _prepared.setdefault(raw, set())
    values = [params[name] for name in statement.names]
    call = f"EXECUTE {statement.name}({', '.join(['%s'] * len(values))})" if values else f"EXECUTE {statement.name}"
    if statement.name in known:
        cursor.execute(call, values)
        return
    # One round trip: psycopg's client-side cursor sends both statements in one query.
    cursor.execute(f"PREPARE {statement.name} AS {statement.positional.replace('%', '%%')}; {call}", values)
    cursor.nextset()  # past PREPARE's empty result, to the EXECUTE's rows
    known.add(statement.name)
