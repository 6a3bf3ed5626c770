"""Django's PostgreSQL backend with a health check that costs no round trip when the connection is quiet.

Django's check (`CONN_HEALTH_CHECKS`) sends `SELECT 1` before the first query of every request on a kept
connection: for the heartbeat, one statement, that doubled the round trips (bench/profile_api.py). Here
the check first looks at the connection without talking to the server: open, idle (no transaction), and
nothing waiting on its socket. A server that shut down, restarted, or terminated the backend (PostgreSQL,
or PgBouncer in front of it) has closed the socket or sent its FATAL message, which makes the socket
readable; so a quiet socket needs no `SELECT 1`. Anything else (something to read, a bad status, an
unreadable socket) falls back to Django's own check, which closes the connection when it fails. A host that
vanished without closing its sockets is the one case neither notices in advance: the first query fails,
the request answers 503 (ops.middleware.DatabaseUnavailableMiddleware) and Django drops the connection.

With DB_PREPARED_STATEMENTS on, every connection also gets `plan_cache_mode = force_custom_plan`: the
statements progress/prepared.py prepares are then parsed once per connection but planned for each
execution's own values, as unprepared ones are. PostgreSQL's default switches to a generic plan after
five executions and keeps it for the connection's life, even once it no longer fits the tables: one
chosen while the content tables were tiny made a completion about twice as slow once the real vault was
synced (12.7 ms against 6.2 unprepared; about a second each in the suite). Only prepared statements
(and PL/pgSQL: the content version's trigger, which only content writes fire) follow the setting, so no other
query changes.
"""

import select

import psycopg
from django.conf import settings
from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def _configure_connection(self, connection) -> bool:
        commit = super()._configure_connection(connection)
        if not settings.DB_PREPARED_STATEMENTS:
            return commit  # nothing is prepared (behind PgBouncer in transaction mode: no session SET either)
        with connection.cursor() as cursor:  # psycopg's own cursor, as Django's time zone: no query count sees it
            cursor.execute("SET plan_cache_mode = force_custom_plan")
        return True  # something was set: Django commits it outside autocommit

    def close_if_health_check_failed(self):
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and not self.pool
            and self._quiet()
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def _quiet(self) -> bool:
        """Open, idle, and nothing from the server waiting to be read."""
        pgconn = self.connection.pgconn
        if pgconn.status != pq.ConnStatus.OK or pgconn.transaction_status != pq.TransactionStatus.IDLE:
            return False
        try:
            readable, _, _ = select.select([pgconn.socket], [], [], 0)
        except (OSError, ValueError, psycopg.OperationalError):  # a closed connection has no socket
            return False
        return not readable
