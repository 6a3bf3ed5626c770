"""`manage.py worker` in real processes: a worker killed mid-job, several workers at once, SQLite."""

import json
import os
import signal
import sys

import pytest
from django_tasks_db.models import DBTaskResult

from devtools.sqlite import manage, sqlite_env
from jobs.models import WorkerHeartbeat
from jobs.tests import sample_jobs
from jobs.tests.helpers import ROOT, start_worker, stop, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_a_job_whose_worker_is_killed_runs_again_on_the_next_worker(tmp_path):
    """SIGKILL a worker mid-job: the next worker sees its heartbeat gone stale, puts the job back and runs it."""
    log = tmp_path / "runs"
    result = sample_jobs.hangs_on_first_run.enqueue(str(log))
    first = start_worker("--worker-id", "first", log=tmp_path / "first.log")
    try:
        wait_for(lambda: log.exists() and log.read_text(), what="the first run to start")
        assert DBTaskResult.objects.get(id=result.id).status == "RUNNING"
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    finally:
        stop(first)
    second = start_worker("--worker-id", "second", log=tmp_path / "second.log")
    try:
        row = wait_for(
            lambda: DBTaskResult.objects.filter(id=result.id, status="SUCCESSFUL").first(),
            what="the job to finish on the second worker",
        )
    finally:
        stop(second)
    assert row.worker_ids == ["first", "second"]
    assert row.return_value == 2
    assert log.read_text() == "run\nrun\n"
    assert not WorkerHeartbeat.objects.filter(worker_id="second").exists()  # a worker that stops says so


def test_two_workers_never_run_the_same_job(tmp_path):
    """Two workers draining one queue (SELECT ... FOR UPDATE SKIP LOCKED) run each of 30 jobs exactly once."""
    log = tmp_path / "runs"
    ids = [str(sample_jobs.record_run.enqueue(str(log), f"job {n}").id) for n in range(30)]
    workers = [start_worker("--batch", "--worker-id", f"w{n}") for n in range(2)]
    try:
        for worker in workers:
            worker.wait(timeout=120)
    finally:
        for worker in workers:
            stop(worker)
    assert sorted(log.read_text().splitlines()) == sorted(f"job {n}" for n in range(30))
    rows = DBTaskResult.objects.filter(id__in=ids)
    assert {row.status for row in rows} == {"SUCCESSFUL"}
    assert all(len(row.worker_ids) == 1 for row in rows)


def test_the_worker_runs_jobs_on_the_sqlite_default(tmp_path):
    """On the embedded SQLite database `make run` uses, a job enqueued is run by `manage.py worker`."""
    env = sqlite_env(tmp_path)
    assert manage(env, "migrate", "--noinput").returncode == 0
    log = tmp_path / "runs"
    script = (
        "import django, json; django.setup()\n"
        "from jobs.tests.sample_jobs import record_run\n"
        f"print(json.dumps(str(record_run.enqueue({str(log)!r}, 'on sqlite').id)))\n"
    )
    import subprocess

    enqueued = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert enqueued.returncode == 0, enqueued.stderr
    job_id = json.loads(enqueued.stdout)
    ran = manage(env, "worker", "--batch", "--no-reload", "--no-startup-delay")
    assert ran.returncode == 0, ran.stderr + ran.stdout
    assert log.read_text() == "on sqlite\n"
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup()\nfrom django_tasks_db.models import DBTaskResult\n"
            f"print(DBTaskResult.objects.get(id={job_id!r}).status)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert check.stdout.strip() == "SUCCESSFUL", check.stderr
