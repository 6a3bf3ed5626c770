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
"""

import select

import psycopg
from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
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
