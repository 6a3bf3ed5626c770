"""The record of every content sync (`ContentSync`) and of every request for one (`SyncRequest`)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class ContentSync(models.Model):
    """One run of `sync_content` that writes (not `--check` or `--dry-run`), from any source."""

    class Source(models.TextChoices):
        FOLDER = "folder", "folder"
        GIT = "git", "git"

    class Status(models.TextChoices):
        RUNNING = "running", "running"
        SUCCEEDED = "succeeded", "succeeded"
        SUCCEEDED_WITH_ERRORS = "succeeded_with_errors", "succeeded with errors"
        FAILED = "failed", "failed"

    source = models.CharField(max_length=10, choices=Source.choices)
    location = models.CharField(max_length=500, help_text="the folder, or the repository URL (no credentials)")
    ref = models.CharField(max_length=255, blank=True)
    trigger = models.CharField(max_length=200, blank=True, help_text="who or what asked for it")
    commit_sha = models.CharField(max_length=64, blank=True)
    commit_author = models.CharField(max_length=300, blank=True)
    commit_date = models.DateTimeField(null=True, blank=True)
    commit_message = models.TextField(blank=True)
    status = models.CharField(max_length=30, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField(help_text="refreshed while running: a stale one was interrupted")
    finished_at = models.DateTimeField(null=True, blank=True)
    added = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    retired = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    drafts = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    warnings = models.PositiveIntegerField(default=0)
    failure = models.TextField(blank=True, help_text="why nothing was written, when it failed")
    report = models.JSONField(default=dict, blank=True, help_text="the full report (SyncReport.as_dict())")

    class Meta:
        ordering = ["-started_at", "-id"]
        get_latest_by = "started_at"
        constraints = [
            # The sync lock: two syncs never run at once, on any number of machines.
            models.UniqueConstraint(fields=["status"], condition=Q(status="running"), name="one_running_sync"),
        ]

    def __str__(self) -> str:
        what = self.commit_sha[:10] if self.commit_sha else self.location
        return f"sync #{self.pk} of {what} ({self.get_status_display()})"

    @property
    def duration(self):
        return self.finished_at - self.started_at if self.finished_at else None

    @property
    def summary_line(self) -> str:
        return self.commit_message.splitlines()[0] if self.commit_message else ""


class SyncRequest(models.Model):
    """A push webhook delivery or a "Sync now": the job that runs next syncs the branch's newest commit."""

    class Origin(models.TextChoices):
        GITHUB = "github", "GitHub push"
        GITLAB = "gitlab", "GitLab push"
        STAFF = "staff", "Sync now (staff)"

    origin = models.CharField(max_length=10, choices=Origin.choices)
    delivery_id = models.CharField(max_length=100, blank=True, help_text="the webhook's delivery id")
    ref = models.CharField(max_length=255, blank=True)
    after_sha = models.CharField(max_length=64, blank=True, help_text="the commit the push says is newest")
    requested_by = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    sync = models.ForeignKey(ContentSync, null=True, blank=True, on_delete=models.SET_NULL, related_name="requests")

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            # A repeated delivery (GitHub's "Redeliver", a GitLab retry) is the same row: it queues nothing.
            models.UniqueConstraint(
                fields=["origin", "delivery_id"], condition=~Q(delivery_id=""), name="one_request_per_delivery"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_origin_display()} {self.delivery_id or self.pk}"
