"""What `manage.py worker` adds to django-tasks-db's worker: retries, heartbeats and recovery.

- **Retries**: a job that raises is put back in the queue (READY, `run_after` in the future) by its
  `jobs.retry` policy, keeping its last error on the row, until it has no attempts left; then FAILED.
  Attempts are counted by the backport's own record of the workers that claimed the job (`worker_ids`).
- **Heartbeat**: a thread refreshes this worker's `WorkerHeartbeat` row every `JOBS_HEARTBEAT_SECONDS`.
- **Recovery**: at start and on every heartbeat, `reap()` puts back in the queue each RUNNING job whose
  worker has not been seen for `JOBS_LEASE_SECONDS` (it was killed, or its machine died), or marks it
  FAILED when that was its last attempt.

Claiming is django-tasks-db's: `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL (so any number of
workers on any number of machines each take a different job) and an exclusive transaction on SQLite.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta
from traceback import format_exception

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db import close_old_connections, connection
from django.utils import timezone
from django_tasks_db.compat import TaskContext, TaskResultStatus, task_finished, task_started
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction

from .models import WorkerHeartbeat
from .retry import DEFAULT_POLICY, RetryPolicy, policy_for

logger = logging.getLogger("jobs")


def _policy(db_task: DBTaskResult) -> RetryPolicy:
    try:
        db_task.task  # imports the job's module, which registers its policy  # noqa: B018
    except (ImportError, SuspiciousOperation):
        return DEFAULT_POLICY
    return policy_for(db_task.task_path)


def _error_fields(error: BaseException | str) -> dict[str, str]:
    if isinstance(error, str):
        return {"exception_class_path": "jobs.WorkerLost", "traceback": error}
    return {
        "exception_class_path": f"{type(error).__module__}.{type(error).__qualname__}",
        "traceback": "".join(format_exception(error)),
    }


def settle_failure(db_task: DBTaskResult, error: BaseException | str) -> str:
    """After a failed run of `db_task` (an exception, or why its worker was lost): retry later or fail.

    Returns the job's new status. Only a RUNNING row is changed, so a job another process settled stays.
    """
    policy = _policy(db_task)
    attempt = len(db_task.worker_ids)
    now = timezone.now()
    retry = policy.retries(error, attempt) if isinstance(error, BaseException) else attempt < policy.attempts
    if retry:
        delay = policy.delay_after(attempt)
        changes = {"status": TaskResultStatus.READY, "run_after": now + timedelta(seconds=delay)}
        logger.warning(
            "Job %s (%s) failed on attempt %d; retrying in %.0f s", db_task.id, db_task.task_path, attempt, delay
        )
    else:
        changes = {"status": TaskResultStatus.FAILED, "finished_at": now, "return_value": None}
        logger.error("Job %s (%s) failed after %d attempt(s)", db_task.id, db_task.task_path, attempt)
    DBTaskResult.objects.filter(id=db_task.id, status=TaskResultStatus.RUNNING).update(
        **changes, **_error_fields(error)
    )
    return changes["status"]


def reap(*, lease_seconds: float | None = None) -> int:
    """Settle every RUNNING job whose worker has not been seen for the lease; returns how many."""
    lease = timedelta(seconds=lease_seconds if lease_seconds is not None else settings.JOBS_LEASE_SECONDS)
    cutoff = timezone.now() - lease
    live = set(WorkerHeartbeat.objects.filter(last_seen_at__gte=cutoff).values_list("worker_id", flat=True))
    reaped = 0
    with exclusive_transaction():
        # A job claimed less than a lease ago may belong to a worker whose first heartbeat is in flight.
        abandoned = DBTaskResult.objects.running().filter(started_at__lt=cutoff).select_for_update(skip_locked=True)
        for db_task in abandoned:
            worker_id = db_task.worker_ids[-1] if db_task.worker_ids else ""
            if worker_id in live:
                continue
            reason = f"the worker {worker_id or '?'} stopped while running this job (not seen for {lease})"
            settle_failure(db_task, reason)
            reaped += 1
    # Rows of workers gone for a day tell nobody anything.
    WorkerHeartbeat.objects.filter(last_seen_at__lt=timezone.now() - timedelta(days=1)).delete()
    return reaped


class JobWorker(Worker):
    """django-tasks-db's worker loop, with the retries, heartbeat and recovery described above."""

    def run(self) -> None:
        started = timezone.now()
        WorkerHeartbeat.objects.update_or_create(
            worker_id=self.worker_id,
            defaults={
                "hostname": socket.gethostname()[:255],
                "pid": os.getpid(),
                "started_at": started,
                "last_seen_at": started,
            },
        )
        reaped = reap()
        if reaped:
            logger.warning("Put back %d job(s) whose worker had stopped", reaped)
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(stop,), name="jobs-heartbeat", daemon=True)
        beat.start()
        try:
            super().run()
        finally:
            stop.set()
            beat.join(timeout=5)
            WorkerHeartbeat.objects.filter(worker_id=self.worker_id).delete()

    def _heartbeat(self, stop: threading.Event) -> None:
        try:
            while not stop.wait(settings.JOBS_HEARTBEAT_SECONDS):
                try:
                    WorkerHeartbeat.objects.filter(worker_id=self.worker_id).update(last_seen_at=timezone.now())
                    reaped = reap()
                    if reaped:
                        logger.warning("Put back %d job(s) whose worker had stopped", reaped)
                except Exception:
                    # The database may be away for a moment; the next beat tries again.
                    logger.exception("Worker heartbeat failed")
                    close_old_connections()
        finally:
            connection.close()

    def run_task(self, db_task_result: DBTaskResult) -> None:
        """Run one claimed job; on an exception, retry it later or mark it failed (`settle_failure`)."""
        self.running_task = True
        try:
            task = db_task_result.task
            task_result = db_task_result.task_result
            backend_type = type(task.get_backend())
            task_started.send(sender=backend_type, task_result=task_result)
            if task.takes_context:
                value = task.call(TaskContext(task_result=task_result), *task_result.args, **task_result.kwargs)
            else:
                value = task.call(*task_result.args, **task_result.kwargs)
            db_task_result.set_successful(value)
            task_finished.send(sender=backend_type, task_result=db_task_result.task_result)
        except (KeyboardInterrupt, SystemExit):
            # Stopped by hand (a second Ctrl+C): the job did not fail; it runs again on the next worker.
            DBTaskResult.objects.filter(id=db_task_result.id, status=TaskResultStatus.RUNNING).update(
                status=TaskResultStatus.READY, run_after=timezone.now()
            )
            raise
        except Exception as error:
            logger.exception("Job %s (%s) raised", db_task_result.id, db_task_result.task_path)
            settle_failure(db_task_result, error)
        finally:
            self.running_task = False
            self._run_tasks += 1


def run_queued_jobs(*, queue_names: tuple[str, ...] = ("*",), worker_id: str = "in-process") -> int:
    """Run every job that is due, in this process, until none is left; returns how many ran.

    For tests and one-off scripts: the same claiming, retries and recording as `manage.py worker`, without
    its loop, heartbeat or connection recycling (so it also runs inside a test's transaction).
    """
    worker = JobWorker(
        queue_names=list(queue_names),
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    )
    due = DBTaskResult.objects.ready().filter(backend_name="default")
    if "*" not in queue_names:
        due = due.filter(queue_name__in=queue_names)
    while True:
        with exclusive_transaction():
            db_task = due.get_locked()
            if db_task is None:
                return worker._run_tasks
            db_task.claim(worker_id)
        worker.run_task(db_task)
