"""A real PostgreSQL outage under a real production server (gunicorn, DEBUG off, persistent connections).

Each test here uses its own throwaway cluster, which it stops (`pause()`) and starts again (`resume()`)
on the same port with the same data, while gunicorn serves the project with a few stand-in views that
query the database (ops.tests.server).
"""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from devtools.appserver import AppServer
from devtools.pgcluster import ThrowawayPostgres
from ops.tests.helpers import fetch

ROOT = Path(__file__).resolve().parents[2]
OUTAGE_JSON = {"error": "The database is unavailable; please retry shortly."}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    """A migrated throwaway cluster of this module's own, that the tests may stop and start."""
    with ThrowawayPostgres() as pg:
        env = {
            **{k: v for k, v in os.environ.items() if k != "DEBUG"},
            "DATABASE_URL": pg.url,
            "DJANGO_SETTINGS_MODULE": "courseplatform.settings",
        }
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True
        )
        yield pg


@pytest.fixture(scope="module")
def server(cluster):
    """gunicorn with 2 threads keeping their connections for 60 s (the production default)."""
    with AppServer(database_url=cluster.url, app="ops.tests.server:application", env={"DB_CONN_MAX_AGE": "60"}) as app:
        yield app


@pytest.fixture
def session_cookie(cluster):
    """A session cookie of a logged-in learner, so that a middleware reads the session before the view."""
    with psycopg.connect(cluster.url, autocommit=True) as conn:
        conn.execute("DELETE FROM django_session")
        conn.execute(
            "INSERT INTO django_session (session_key, session_data, expire_date) "
            "VALUES ('k0000000000000000000000000000000', 'x', now() + interval '1 day')"
        )
    return {"Cookie": "sessionid=k0000000000000000000000000000000"}


def server_connections(cluster) -> int:
    """Client connections to the cluster other than this one (the server's persistent connections)."""
    with psycopg.connect(cluster.url, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        ).fetchone()[0]


def test_outage_answers_503_then_recovers_by_itself(cluster, server, session_cookie):
    """While PostgreSQL is down: /healthz, the API and pages answer 503 at once (JSON for /api/, the
    friendly page elsewhere, even when a middleware meets the error); once it is back, the very next
    requests succeed without restarting anything."""
    assert fetch(f"{server.url}/api/ops-test/users").status == 200
    assert fetch(f"{server.url}/ops-test/whoami", headers=session_cookie).status == 200

    cluster.pause()
    try:
        health = fetch(f"{server.url}/healthz")
        assert health.status == 503
        assert json.loads(health.body) == {
            "status": "unavailable",
            "reason": "The database did not answer (OperationalError).",
        }
        assert health.seconds < 2

        api = fetch(f"{server.url}/api/ops-test/users")
        assert api.status == 503
        assert json.loads(api.body) == OUTAGE_JSON
        assert api.headers["retry-after"] == "5"
        assert api.headers["content-type"] == "application/json"

        page = fetch(f"{server.url}/ops-test/users")
        assert page.status == 503
        assert "<h1>Back in a moment</h1>" in page.text
        assert "content-security-policy" in page.headers

        in_middleware = fetch(f"{server.url}/ops-test/whoami", headers=session_cookie)
        assert in_middleware.status == 503
        assert "<h1>Back in a moment</h1>" in in_middleware.text
    finally:
        cluster.resume()

    resumed = time.monotonic()
    while fetch(f"{server.url}/healthz").status != 200:
        assert time.monotonic() - resumed < 5, "no recovery within 5 seconds of PostgreSQL's return"
        time.sleep(0.1)
    for _ in range(4):  # both threads, whatever connection each had
        assert fetch(f"{server.url}/api/ops-test/users").status == 200
        assert fetch(f"{server.url}/ops-test/whoami", headers=session_cookie).status == 200

    logged = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
    requests = [line for line in logged if line["logger"] == "ops.requests"]
    assert {"path": "/api/ops-test/users", "status": 503} in [
        {"path": line["path"], "status": line["status"]} for line in requests
    ]
    assert any(line["logger"] == "ops.database" and line["level"] == "WARNING" for line in logged)


def test_persistent_connections_survive_a_postgresql_restart(cluster, server):
    """Connections kept between requests are dead after PostgreSQL restarts; the health check at the
    start of a request replaces them, so not even the first request after the restart fails."""
    for _ in range(6):
        assert fetch(f"{server.url}/api/ops-test/users").status == 200
    assert server_connections(cluster) >= 1  # kept open between requests

    cluster.pause()
    cluster.resume()

    answers = [fetch(f"{server.url}/api/ops-test/users").status for _ in range(6)]
    assert answers == [200] * 6


def silent_port() -> tuple[socket.socket, int]:
    """A port that accepts TCP connections and never says a word: a database host that hangs."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    return listener, listener.getsockname()[1]


def test_healthz_gives_up_after_the_connect_timeout():
    """Against a database host that never answers, /healthz says 503 after DB_CONNECT_TIMEOUT seconds
    instead of hanging for the operating system's TCP timeout."""
    listener, port = silent_port()
    try:
        url = f"postgres://postgres@127.0.0.1:{port}/postgres"
        with AppServer(database_url=url, env={"DB_CONNECT_TIMEOUT": "2"}, threads=1) as app:
            health = fetch(f"{app.url}/healthz")
            assert health.status == 503
            assert json.loads(health.body)["status"] == "unavailable"
            assert health.seconds < 5
    finally:
        listener.close()
