"""The sync lock with real concurrency: two syncs at once on PostgreSQL, each on its own connection."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from delivery.models import ContentSync
from delivery.services import SyncBusy, run_sync

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_syncs_at_once_run_one_after_the_other(settings):
    """Two threads sync at the same moment: both complete, one waited for the other (never two running)."""
    settings.CONTENT_SYNC_HEARTBEAT_SECONDS = 0.2
    start = threading.Barrier(2)
    failures = []

    def sync(name: str) -> None:
        try:
            start.wait()
            run_sync(folder="content", trigger=name)
        except Exception as exc:  # reported below, on the test's thread
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sync, args=(f"thread {n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    first, second = ContentSync.objects.order_by("started_at")
    assert first.status == second.status == "succeeded"
    assert second.started_at >= first.finished_at
    assert first.added > 0 and second.added == 0 and second.unchanged == first.added


def test_a_sync_whose_process_died_is_marked_interrupted_and_the_next_one_runs(settings):
    """A RUNNING row whose heartbeat went stale (its process was killed) no longer blocks: the next sync
    marks it failed ("interrupted") and runs."""
    settings.CONTENT_SYNC_STALE_SECONDS = 30
    settings.CONTENT_SYNC_WAIT_SECONDS = 5
    long_ago = timezone.now() - timedelta(minutes=5)
    dead = ContentSync.objects.create(source="folder", location="content", started_at=long_ago, heartbeat_at=long_ago)
    sync, _report = run_sync(folder="content", trigger="after a crash")
    dead.refresh_from_db()
    assert dead.status == "failed" and dead.failure.startswith("interrupted")
    assert sync.status == "succeeded"


def test_a_live_sync_is_waited_for_not_taken_over(settings):
    """A RUNNING row with a fresh heartbeat is a sync in progress: the next one waits, then gives up with a
    clear error after CONTENT_SYNC_WAIT_SECONDS, and the running one is left alone."""
    settings.CONTENT_SYNC_WAIT_SECONDS = 1
    live = ContentSync.objects.create(
        source="folder", location="content", started_at=timezone.now(), heartbeat_at=timezone.now()
    )
    with pytest.raises(SyncBusy, match="another sync has been running"):
        run_sync(folder="content", trigger="impatient")
    live.refresh_from_db()
    assert live.status == "running"
    assert ContentSync.objects.count() == 1


def test_a_long_sync_keeps_its_lock_alive_with_its_heartbeat(settings):
    """A sync that runs three times longer than the stale limit is not taken over: its heartbeat keeps the
    lock fresh, and a second sync waits for it."""
    settings.CONTENT_SYNC_HEARTBEAT_SECONDS = 0.2
    settings.CONTENT_SYNC_STALE_SECONDS = 1
    holding = threading.Event()

    def slow(sync) -> bool:
        holding.set()
        threading.Event().wait(3)  # the sync "runs" for 3 s
        return True

    def first() -> None:
        try:
            run_sync(folder="content", trigger="slow", on_locked=slow)
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    holding.wait(10)
    second, _report = run_sync(folder="content", trigger="second")
    thread.join(30)
    slow_sync = ContentSync.objects.get(trigger="slow")
    assert slow_sync.status == "succeeded"  # not marked interrupted
    assert second.started_at >= slow_sync.finished_at
