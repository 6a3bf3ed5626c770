"""The content status page (staff): every sync, newest first, each opening its findings by file, with
"Sync now" and the configured repository. Read-only: syncs are written by `delivery.services` alone."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from jobs.models import WorkerHeartbeat

from .findings import SEVERITIES, group_findings
from .models import ContentSync, SyncRequest
from .services import request_sync


@admin.register(ContentSync)
class ContentSyncAdmin(admin.ModelAdmin):
    list_display = [
        "started_at",
        "status_label",
        "commit",
        "author",
        "message",
        "took",
        "counts",
        "findings",
    ]
    list_display_links = ["started_at"]
    # No filter sidebar: the columns need the width (search finds a commit, an author or a message).
    search_fields = ["commit_sha", "commit_message", "commit_author", "status"]
    show_full_result_count = False
    list_per_page = 50
    # The report (every diagnostic) can be large: the list never loads it.
    list_select_related = False

    def get_queryset(self, request):
        return super().get_queryset(request).defer("report")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="status", ordering="status")
    def status_label(self, sync: ContentSync) -> str:
        return sync.get_status_display()

    @admin.display(description="commit", ordering="commit_sha")
    def commit(self, sync: ContentSync) -> str:
        return sync.commit_sha[:10] if sync.commit_sha else f"({sync.get_source_display()})"

    @admin.display(description="author", ordering="commit_author")
    def author(self, sync: ContentSync) -> str:
        return sync.commit_author.split(" <", 1)[0]

    @admin.display(description="items")
    def counts(self, sync: ContentSync) -> str:
        return (
            f"{sync.added} added, {sync.changed} changed, {sync.retired} retired, "
            f"{sync.unchanged} unchanged, {sync.drafts} draft{'s' if sync.drafts != 1 else ''}"
        )

    @admin.display(description="findings")
    def findings(self, sync: ContentSync) -> str:
        errors, warnings = sync.errors, sync.warnings
        return f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}"

    @admin.display(description="message")
    def message(self, sync: ContentSync) -> str:
        return sync.summary_line[:80] or sync.failure[:80]

    @admin.display(description="duration")
    def took(self, sync: ContentSync) -> str:
        if sync.finished_at is None:
            return "running" if sync.status == ContentSync.Status.RUNNING else ""
        return f"{(sync.finished_at - sync.started_at).total_seconds():.1f} s"

    def get_urls(self):
        urls = [
            path("sync-now/", self.admin_site.admin_view(self.sync_now), name="delivery_contentsync_sync_now"),
            path("latest/", self.admin_site.admin_view(self.latest), name="delivery_contentsync_latest"),
        ]
        return urls + super().get_urls()

    def changelist_view(self, request: HttpRequest, extra_context=None):
        lease = timezone.now() - timedelta(seconds=settings.JOBS_LEASE_SECONDS)
        extra_context = {
            **(extra_context or {}),
            "repository": settings.CONTENT_GIT_URL and ContentSyncAdmin._display_url(),
            "branch": settings.CONTENT_GIT_BRANCH,
            "webhook_url": request.build_absolute_uri(reverse("content-webhook")),
            "webhook_on": bool(settings.CONTENT_WEBHOOK_SECRET),
            "workers": WorkerHeartbeat.objects.filter(last_seen_at__gte=lease).count(),
            "waiting": SyncRequest.objects.filter(sync__isnull=True).count(),
            "can_sync_now": self._can_sync_now(request),
        }
        return super().changelist_view(request, extra_context)

    @staticmethod
    def _display_url() -> str:
        from .git import strip_userinfo

        return strip_userinfo(settings.CONTENT_GIT_URL)

    def _can_sync_now(self, request: HttpRequest) -> bool:
        return request.user.has_perm("delivery.add_syncrequest")

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        """A sync's summary and its findings by file, filtered by ?severity= and ?state=draft|published."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        sync = get_object_or_404(ContentSync, pk=object_id)
        severity = request.GET.get("severity", "")
        state = request.GET.get("state", "")
        severity = severity if severity in SEVERITIES else ""
        state = state if state in ("draft", "published") else ""
        files = group_findings(sync.report, severity=severity, state=state)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": str(sync),
            "sync": sync,
            "files": files,
            "shown": sum(len(f.findings) for f in files),
            "severity": severity,
            "state": state,
            "severities": SEVERITIES,
            "report": sync.report,
            "requests": sync.requests.all(),
        }
        return TemplateResponse(request, "admin/delivery/contentsync/findings.html", context)

    def latest(self, request: HttpRequest):
        """The findings of the newest finished sync: the state of every file at a glance."""
        sync = ContentSync.objects.exclude(status=ContentSync.Status.RUNNING).only("pk").first()
        if sync is None:
            messages.info(request, "No sync has finished yet.")
            return HttpResponseRedirect(reverse("admin:delivery_contentsync_changelist"))
        query = f"?{request.GET.urlencode()}" if request.GET else ""
        return HttpResponseRedirect(reverse("admin:delivery_contentsync_change", args=[sync.pk]) + query)

    def sync_now(self, request: HttpRequest):
        return require_POST(self._sync_now)(request)

    def _sync_now(self, request: HttpRequest):
        if not self._can_sync_now(request):
            raise PermissionDenied
        back = HttpResponseRedirect(reverse("admin:delivery_contentsync_changelist"))
        if not settings.CONTENT_GIT_URL:
            messages.error(request, "No repository is configured: set CONTENT_GIT_URL, then try again.")
            return back
        request_sync(origin=SyncRequest.Origin.STAFF, requested_by=request.user.get_username())
        messages.success(request, f"Sync of {settings.CONTENT_GIT_BRANCH} queued; it appears here when it starts.")
        lease = timezone.now() - timedelta(seconds=settings.JOBS_LEASE_SECONDS)
        if not WorkerHeartbeat.objects.filter(last_seen_at__gte=lease).exists():
            messages.warning(request, "No worker is running, so nothing will run it: start one (manage.py worker).")
        return back


@admin.register(SyncRequest)
class SyncRequestAdmin(admin.ModelAdmin):
    list_display = ["received_at", "origin", "delivery_id", "ref", "after_sha", "requested_by", "sync"]
    list_filter = ["origin"]
    list_select_related = ["sync"]
    search_fields = ["delivery_id", "after_sha"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("sync__report")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
