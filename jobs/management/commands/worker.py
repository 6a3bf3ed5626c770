"""`manage.py worker`: run background jobs (see README, "Background jobs").

The options are django-tasks-db's `db_worker`'s; the worker is `jobs.worker.JobWorker`, which adds
retries, a heartbeat and the recovery of jobs whose worker died.
"""

from __future__ import annotations

import os

from django.core.management.base import CommandError
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands import db_worker

from jobs.worker import JobWorker


class Command(db_worker.Command):
    help = "Run background jobs: retried with backoff, recovered when a worker dies (several workers are safe)."

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        # This project's jobs are on several queues; one worker takes them all unless told otherwise.
        parser.set_defaults(queue_name="*")

    def handle(self, *, verbosity: int, reload: bool, batch: bool, **options) -> None:
        self.configure_logging(verbosity)
        if reload and batch:
            reload = False
        queue_names = options["queue_name"].split(",")
        excluded = options["exclude_queues"].split(",") if options["exclude_queues"] else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = JobWorker(
            queue_names=queue_names,
            interval=options["interval"],
            batch=batch,
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
            excluded_queue_names=excluded,
        )
        if reload:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()
            run_with_reloader(worker.run)
        else:
            worker.configure_signals()
            worker.run()
