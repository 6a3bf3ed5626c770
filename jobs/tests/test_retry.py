from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from jobs.retry import RetryPolicy
from jobs.tests import sample_jobs
from jobs.worker import run_queued_jobs

pytestmark = pytest.mark.django_db


def _make_due(result_id) -> None:
    DBTaskResult.objects.filter(id=result_id).update(run_after=timezone.now())


def test_a_failing_job_is_retried_with_backoff_then_failed_with_its_error():
    """A job that raises runs again after 5 s, then 10 s, and after its third run is FAILED with the error."""
    result = sample_jobs.always_fails.enqueue("the model server said no")
    before = timezone.now()
    assert run_queued_jobs() == 1
    row = DBTaskResult.objects.get(id=result.id)
    assert row.status == "READY"
    assert before + timedelta(seconds=5) <= row.run_after <= timezone.now() + timedelta(seconds=5)
    assert "the model server said no" in row.traceback  # the reason it is being retried is on the row
    assert run_queued_jobs() == 0  # not due yet

    _make_due(result.id)
    before = timezone.now()
    run_queued_jobs()
    row.refresh_from_db()
    assert row.status == "READY"
    assert before + timedelta(seconds=10) <= row.run_after <= timezone.now() + timedelta(seconds=10)

    _make_due(result.id)
    run_queued_jobs()
    row.refresh_from_db()
    assert row.status == "FAILED"
    assert len(row.worker_ids) == 3
    assert row.exception_class_path == "builtins.RuntimeError"
    assert "the model server said no" in row.traceback
    assert sample_jobs.always_fails.get_result(str(result.id)).status == "FAILED"


def test_an_error_that_retrying_cannot_help_fails_the_job_at_once():
    """An exception listed in `give_up_on` marks the job FAILED after one run."""
    result = sample_jobs.fails_for_good.enqueue("no such ref")
    run_queued_jobs()
    row = DBTaskResult.objects.get(id=result.id)
    assert row.status == "FAILED"
    assert len(row.worker_ids) == 1
    assert row.exception_class_path.endswith("Permanent")


def test_a_job_that_succeeds_keeps_its_return_value(tmp_path):
    """A job that returns is SUCCESSFUL with its return value, after one run."""
    result = sample_jobs.record_run.enqueue(str(tmp_path / "log"), "hello")
    run_queued_jobs()
    assert sample_jobs.record_run.get_result(str(result.id)).return_value == "hello"
    assert (tmp_path / "log").read_text() == "hello\n"


def test_backoff_doubles_up_to_its_cap():
    """The delay before run n+1 is backoff * 2^(n-1), never more than the cap."""
    policy = RetryPolicy(attempts=10, backoff_seconds=10, max_backoff_seconds=60)
    assert [policy.delay_after(n) for n in range(1, 6)] == [10, 20, 40, 60, 60]


def _running(task, *, worker_ids: list[str], minutes_ago: int = 10) -> DBTaskResult:
    """A job row as a worker leaves it when it is killed: RUNNING, claimed by `worker_ids[-1]`."""
    result = task.enqueue("/dev/null")
    DBTaskResult.objects.filter(id=result.id).update(
        status="RUNNING", worker_ids=worker_ids, started_at=timezone.now() - timedelta(minutes=minutes_ago)
    )
    return DBTaskResult.objects.get(id=result.id)


def test_a_job_whose_worker_stopped_beating_is_put_back_in_the_queue():
    """reap(): a RUNNING job whose worker has no fresh heartbeat is READY again, with the reason on it."""
    from jobs.models import WorkerHeartbeat
    from jobs.worker import reap

    row = _running(sample_jobs.hangs_on_first_run, worker_ids=["dead"])
    alive = _running(sample_jobs.hangs_on_first_run, worker_ids=["alive"])
    now = timezone.now()
    WorkerHeartbeat.objects.create(worker_id="alive", hostname="h", pid=1, started_at=now, last_seen_at=now)
    WorkerHeartbeat.objects.create(
        worker_id="dead", hostname="h", pid=2, started_at=now, last_seen_at=now - timedelta(minutes=5)
    )
    assert reap(lease_seconds=60) == 1
    row.refresh_from_db()
    alive.refresh_from_db()
    assert row.status == "READY" and "the worker dead stopped" in row.traceback
    assert alive.status == "RUNNING"  # its worker is alive: left alone


def test_a_job_that_keeps_killing_its_worker_ends_up_failed():
    """A job whose worker died on each of its 3 attempts is FAILED, not run a fourth time."""
    from jobs.worker import reap

    row = _running(sample_jobs.hangs_on_first_run, worker_ids=["w1", "w2", "w3"])
    assert reap(lease_seconds=60) == 1
    row.refresh_from_db()
    assert row.status == "FAILED" and row.exception_class_path == "jobs.WorkerLost"
    assert "stopped while running this job" in row.traceback


def test_a_just_claimed_job_is_not_reaped():
    """A job claimed less than a lease ago is left alone even before its worker's first heartbeat lands."""
    from jobs.worker import reap

    row = _running(sample_jobs.hangs_on_first_run, worker_ids=["new"], minutes_ago=0)
    assert reap(lease_seconds=60) == 0
    row.refresh_from_db()
    assert row.status == "RUNNING"


def test_staff_see_queued_running_failed_and_finished_jobs_in_admin(admin_client, tmp_path):
    """The job list in admin shows each job's status, and a failed job's page shows its traceback."""
    sample_jobs.record_run.enqueue(str(tmp_path / "log"), "done")
    run_queued_jobs()
    failed = sample_jobs.fails_for_good.enqueue("the reason it failed")
    run_queued_jobs()
    sample_jobs.record_run.enqueue(str(tmp_path / "log"), "waiting")
    _running(sample_jobs.hangs_on_first_run, worker_ids=["w"])
    page = admin_client.get("/admin/django_tasks_database/dbtaskresult/").content.decode()
    for status in ("Ready", "Running", "Failed", "Successful"):
        assert f'<td class="field-status">{status}</td>' in page
    detail = admin_client.get(f"/admin/django_tasks_database/dbtaskresult/{failed.id}/change/").content.decode()
    assert "the reason it failed" in detail
