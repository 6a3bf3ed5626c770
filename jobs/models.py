"""The one table the job engine adds to django-tasks-db: which workers are alive.

django-tasks-db marks a job RUNNING when a worker claims it and never looks at it again, so a job whose
worker was killed would stay RUNNING for ever. Each `manage.py worker` keeps a row here fresh (its
heartbeat); a RUNNING job whose worker's row has gone stale is put back in the queue (`jobs.worker.reap`).
"""

from django.db import models


class WorkerHeartbeat(models.Model):
    worker_id = models.CharField(max_length=64, primary_key=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-last_seen_at"]
        verbose_name = "worker"

    def __str__(self) -> str:
        return f"{self.worker_id} ({self.hostname}, pid {self.pid})"
