"""Faults under load: PostgreSQL restarted, and the application server killed, while learners write.

Each test starts a durable throwaway cluster (fsync and synchronous commit on, as in production) and a
production server (gunicorn, 2 workers x 4 threads), and runs several client threads, each an anonymous
learner alternating heartbeats on one lens with completions of fresh content ids. Every answer is
recorded; afterwards the database must hold every completion acknowledged with 200, and every
learner's credited time must be what its acknowledged heartbeats imply (tests/live.py,
heartbeat_bounds).
"""

import json
import os
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from devtools.appserver import AppServer
from ops.tests.helpers import fetch
from tests.live import Load, Record, heartbeat_bounds, start_site

pytestmark = pytest.mark.slow

OUTAGE = {"error": "The database is unavailable; please retry shortly."}
CLIENTS = 6


@pytest.fixture
def site():
    site = start_site(durable=True)
    try:
        yield site
    finally:
        site.cluster.stop()


def server(site) -> AppServer:
    # Each client completes hundreds of fresh (unknown) UUIDs: lift their rate limit for the load.
    env = {"LOG_LEVEL": "WARNING", "PROGRESS_RATE_LIMIT_UNKNOWN_COMPLETIONS": "1000000"}
    return AppServer(database_url=site.cluster.url, workers=2, threads=4, env=env)


def assert_every_acknowledged_write_is_stored(site, load: Load) -> None:
    """Every 200 completion has its row, completed; every learner's heartbeat time is within bounds."""
    completions = load.acknowledged("complete")
    assert completions, "no completion was acknowledged"
    stored = {
        (str(token), str(content_id))
        for token, content_id in site.query(
            "SELECT session_token, content_id FROM progress_usercontentprogress WHERE completed_at IS NOT NULL"
        )
    }
    missing = [r for r in completions if (r.token, r.content_id) not in stored]
    assert not missing, f"{len(missing)} acknowledged completions are not in the database: {missing[:3]}"

    for token in load.tokens:
        beats = [r for r in load.acknowledged("heartbeat") if r.token == token]
        if not beats:
            continue
        rows = site.query(
            "SELECT total_time_spent_s FROM progress_usercontentprogress WHERE session_token = %s AND content_id = %s",
            (token, load.lens),
        )
        assert rows, f"learner {token} got {len(beats)} heartbeat 204s and has no row"
        low, high = heartbeat_bounds(beats, delta=load.delta)
        assert low <= rows[0][0] <= high, (token, rows[0][0], low, high, len(beats))


def test_postgresql_restart_under_load(site):
    """PostgreSQL stops for about three seconds under load: requests meanwhile get a 503 with a clear JSON
    message (pages the friendly page), the server recovers by itself within seconds of the database's
    return, and no acknowledged write is lost."""
    with server(site) as app, Load(app.url, clients=CLIENTS, lens=site.lenses[0]) as load:
        time.sleep(2)
        site.cluster.pause()
        stopped = time.monotonic()
        time.sleep(1)
        page = fetch(f"{app.url}/")
        api = fetch(f"{app.url}/api/progress/completed", headers={"X-Session-Token": load.tokens[0]})
        time.sleep(2)
        resuming = time.monotonic()
        site.cluster.resume()
        resumed = time.monotonic()
        recovered = None
        while recovered is None and time.monotonic() - resumed < 15:
            with load._lock:
                after = [r for r in load.records if r.sent > resumed and r.status in {200, 204}]
            recovered = min((r.received for r in after), default=None)
            time.sleep(0.1)
        time.sleep(2)

    assert page.status == 503 and "Back in a moment" in page.text and page.headers["retry-after"] == "5"
    assert api.status == 503 and json.loads(api.body) == OUTAGE

    statuses = Counter(r.status for r in load.records)
    assert set(statuses) <= {200, 204, 503}, statuses  # no 500, no dropped connection
    during = [r for r in load.records if stopped + 0.5 < r.sent and r.received < resuming]
    assert during and all(r.status == 503 for r in during)
    assert all(json.loads(r.body) == OUTAGE for r in load.records if r.status == 503)
    assert recovered is not None and recovered - resumed < 5, "no success within 5 s of PostgreSQL's return"
    after = [r for r in load.records if r.sent > resumed + 1]
    assert after and all(r.status in {200, 204} for r in after)

    assert_every_acknowledged_write_is_stored(site, load)


def descendants(pid: int) -> list[int]:
    """The process and every process below it (gunicorn's master and its workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        queue.extend(children.get(current, []))
    return found


def test_sigkill_of_the_application_server_loses_no_acknowledged_write(site):
    """The master and every worker get SIGKILL in the middle of the load: every completion answered 200
    is in the database, completed, and every learner's heartbeat 204s are credited."""
    with server(site) as app, Load(app.url, clients=CLIENTS, lens=site.lenses[0], pause=0) as load:
        time.sleep(3)
        for pid in descendants(app.process.pid):
            os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        time.sleep(1)

    before: list[Record] = [r for r in load.records if r.received < killed]
    assert len(load.acknowledged("complete")) > 20 and len(load.acknowledged("heartbeat")) > 20
    assert {r.status for r in before} <= {200, 204, None}
    assert all(r.status is None for r in load.records if r.sent > killed)  # the server is really gone
    assert_every_acknowledged_write_is_stored(site, load)
