"""Staff see the job queue in admin: django-tasks-db's "Task results" (queued, running, failed and
finished jobs, with errors and tracebacks), and here the workers that are running them."""

from datetime import timedelta

from django.conf import settings
from django.contrib import admin
from django.utils import timezone

from .models import WorkerHeartbeat


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["worker_id", "hostname", "pid", "started_at", "last_seen_at", "alive"]

    @admin.display(boolean=True)
    def alive(self, worker: WorkerHeartbeat) -> bool:
        return worker.last_seen_at >= timezone.now() - timedelta(seconds=settings.JOBS_LEASE_SECONDS)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
