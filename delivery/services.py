"""Syncing content from a folder or the course's git repository, and recording every sync.

`run_sync()` is the one writer of `ContentSync`: it takes the sync lock (a RUNNING `ContentSync` row; the
database allows one), fetches the commit when the source is git, runs `content_loader.sync.sync_content`
and records what came of it. `request_sync()` is the one writer of `SyncRequest` (webhook deliveries and
"Sync now") and queues the job; `sync_requested()` is what that job does.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from content_loader.report import SyncReport
from content_loader.sync import Progress, sync_content

from . import git
from .models import ContentSync, SyncRequest

logger = logging.getLogger("delivery")


class SyncFailed(Exception):
    """The sync wrote nothing; the message says why (and the `ContentSync` row records it)."""

    def __init__(self, message: str, sync: ContentSync | None = None) -> None:
        super().__init__(message)
        self.sync = sync


class SyncRefused(SyncFailed):
    """A failure retrying cannot mend (no such ref, a UUID used twice): only a new commit can."""


class SyncBusy(SyncFailed):
    """Another sync kept the lock for longer than `CONTENT_SYNC_WAIT_SECONDS`."""


@dataclass(frozen=True)
class GitSource:
    remote: git.Remote
    ref: str


def configured_source(ref: str | None = None) -> GitSource | None:
    """The course repository of the settings (`CONTENT_GIT_*`), or None when `CONTENT_GIT_URL` is empty."""
    if not settings.CONTENT_GIT_URL:
        return None
    return GitSource(
        remote=git.Remote(
            url=settings.CONTENT_GIT_URL,
            token=settings.CONTENT_GIT_TOKEN,
            username=settings.CONTENT_GIT_USERNAME,
            ssh_key=settings.CONTENT_GIT_SSH_KEY,
        ),
        ref=ref or settings.CONTENT_GIT_BRANCH,
    )


# The sync lock ------------------------------------------------------------------------------------------


def _claim_lock(**fields) -> ContentSync | None:
    """Insert the RUNNING row, or None when another sync holds the lock (and is alive)."""
    now = timezone.now()
    try:
        with transaction.atomic():
            return ContentSync.objects.create(
                status=ContentSync.Status.RUNNING, started_at=now, heartbeat_at=now, **fields
            )
    except IntegrityError:
        pass
    stale = now - timedelta(seconds=settings.CONTENT_SYNC_STALE_SECONDS)
    for holder in ContentSync.objects.filter(status=ContentSync.Status.RUNNING, heartbeat_at__lt=stale):
        since = f"{holder.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC"
        _fail(holder, f"interrupted: the process running it stopped (no sign of life since {since})")
        logger.warning("Content sync %s was interrupted; its lock is released", holder.pk)
    return None


@contextmanager
def _sync_lock(**fields):
    """Hold the sync lock for the block, as a RUNNING `ContentSync` whose heartbeat a thread keeps fresh."""
    deadline = time.monotonic() + settings.CONTENT_SYNC_WAIT_SECONDS
    while (sync := _claim_lock(**fields)) is None:
        if time.monotonic() > deadline:
            raise SyncBusy(
                f"another sync has been running for over {settings.CONTENT_SYNC_WAIT_SECONDS} s; try again later"
            )
        time.sleep(0.5)
    stop = threading.Event()

    def beat() -> None:
        from django.db import connection

        try:
            while not stop.wait(settings.CONTENT_SYNC_HEARTBEAT_SECONDS):
                try:
                    ContentSync.objects.filter(pk=sync.pk, status=ContentSync.Status.RUNNING).update(
                        heartbeat_at=timezone.now()
                    )
                except Exception:
                    # A database blip: the next beat tries again (a lease is several beats long).
                    logger.exception("Content sync heartbeat failed")
                    connection.close()
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name="content-sync-heartbeat", daemon=True)
    thread.start()
    try:
        yield sync
    finally:
        stop.set()
        thread.join(timeout=10)


def _fail(sync: ContentSync, reason: str) -> None:
    ContentSync.objects.filter(pk=sync.pk, status=ContentSync.Status.RUNNING).update(
        status=ContentSync.Status.FAILED, failure=reason, finished_at=timezone.now()
    )
    # Requests it had taken go back to the queue: the next job syncs them (unless the cause is permanent,
    # in which case the caller attaches them again).
    SyncRequest.objects.filter(sync=sync).update(sync=None)
    sync.refresh_from_db()


def _finish(sync: ContentSync, report: SyncReport) -> None:
    if report.blocked:
        status, failure = ContentSync.Status.FAILED, report.blocked
    elif report.errors:
        status, failure = ContentSync.Status.SUCCEEDED_WITH_ERRORS, ""
    else:
        status, failure = ContentSync.Status.SUCCEEDED, ""
    ContentSync.objects.filter(pk=sync.pk).update(
        status=status,
        failure=failure,
        finished_at=timezone.now(),
        added=len(report.added),
        changed=len(report.changed) + len(report.restored),
        retired=len(report.retired),
        unchanged=report.unchanged,
        drafts=len(report.drafts),
        errors=report.errors,
        warnings=report.warnings,
        report=report.as_dict(),
    )
    sync.refresh_from_db()


# Syncing ------------------------------------------------------------------------------------------------


def run_sync(
    *,
    folder: Path | str | None = None,
    source: GitSource | None = None,
    trigger: str,
    write_ids: bool = False,
    progress: Progress | None = None,
    on_locked=None,
) -> tuple[ContentSync, SyncReport]:
    """Sync `folder`, or the commit `source.ref` names, holding the sync lock; record it as a `ContentSync`.

    Raises `SyncFailed` (with the recorded row) when there was nothing to sync: the repository unreachable
    (`SyncRefused`: the ref or folder does not exist). A UUID used twice blocks every write: the row is
    FAILED and the report says why. Errors in some files are not a failure: the rest is synced and the row
    says "succeeded with errors". `on_locked(sync)` runs first once the lock is held; False stops there.
    """
    if source is not None:
        fields = {"source": ContentSync.Source.GIT, "location": source.remote.display_url(), "ref": source.ref}
    else:
        path = Path(folder if folder is not None else settings.CONTENT_DIR)
        fields = {"source": ContentSync.Source.FOLDER, "location": str(path)}
    with _sync_lock(trigger=trigger[:200], **fields) as sync:
        if on_locked is not None and on_locked(sync) is False:
            return sync, None
        try:
            if source is not None:
                path, commit = git.fetch(
                    source.remote,
                    source.ref,
                    Path(settings.CONTENT_GIT_CACHE_DIR),
                    timeout=settings.CONTENT_GIT_TIMEOUT_SECONDS,
                )
                ContentSync.objects.filter(pk=sync.pk).update(
                    commit_sha=commit.sha,
                    commit_author=commit.author[:300],
                    commit_date=commit.date,
                    commit_message=commit.message,
                )
            report = sync_content(path, write_ids=write_ids, progress=progress)
            if source is not None:  # the report names the commit, not the cache folder
                report.vault = f"{source.remote.display_url()}@{commit.sha[:12]}"
        except (git.GitError, FileNotFoundError) as exc:
            _fail(sync, str(exc))
            refused = isinstance(exc, git.RefNotFound | FileNotFoundError)
            raise (SyncRefused if refused else SyncFailed)(str(exc), sync) from exc
        except BaseException as exc:
            _fail(sync, f"unexpected error: {type(exc).__name__}: {exc}")
            raise
        _finish(sync, report)
    logger.info("Content sync %s: %s", sync.pk, sync.get_status_display())
    return sync, report


def check_git(source: GitSource, *, check: bool, dry_run: bool, progress: Progress | None = None) -> SyncReport:
    """`--check` or `--dry-run` of a commit: fetched into a temporary folder (no lock, nothing recorded)."""
    with tempfile.TemporaryDirectory(prefix="content-check-") as folder:
        try:
            path, _commit = git.fetch(
                source.remote, source.ref, Path(folder) / "checkout", timeout=settings.CONTENT_GIT_TIMEOUT_SECONDS
            )
        except git.GitError as exc:
            raise SyncFailed(str(exc)) from exc
        report = sync_content(path, check=check, dry_run=dry_run, progress=progress)
        report.vault = f"{source.remote.display_url()}@{source.ref}"
        return report


# Requests and the job -----------------------------------------------------------------------------------


def request_sync(
    *, origin: str, delivery_id: str = "", ref: str = "", after_sha: str = "", requested_by: str = ""
) -> tuple[SyncRequest, bool]:
    """Record a request for a sync of the configured branch and queue the job; (request, queued anything).

    A delivery id seen before returns its request and queues nothing. While a sync job is waiting to run,
    no other is queued: that job syncs whatever the branch holds when it runs, this request included.
    """
    from .jobs import sync_requested_content

    try:
        with transaction.atomic():
            request = SyncRequest.objects.create(
                origin=origin,
                delivery_id=delivery_id[:100],
                ref=ref[:255],
                after_sha=after_sha[:64],
                requested_by=requested_by[:200],
            )
    except IntegrityError:
        return SyncRequest.objects.get(origin=origin, delivery_id=delivery_id[:100]), False
    # Checked after the request is committed: a job seen waiting here has not yet taken its requests.
    from django_tasks_db.models import DBTaskResult

    waiting = DBTaskResult.objects.ready().filter(task_path=sync_requested_content.module_path)
    if not waiting.exists():
        sync_requested_content.enqueue()
    return request, True


def pending_requests():
    """Requests no sync has taken, and those taken by a sync still marked running (it may have died)."""
    return SyncRequest.objects.filter(Q(sync__isnull=True) | Q(sync__status=ContentSync.Status.RUNNING))


def sync_requested() -> ContentSync | None:
    """Sync the configured branch for every pending request, once; None when nothing is pending."""
    if not pending_requests().exists():
        return None
    source = configured_source()
    if source is None:
        raise SyncRefused("CONTENT_GIT_URL is not set: there is no repository to sync from")
    taken: list[int] = []

    def take(sync: ContentSync) -> bool:
        taken.extend(SyncRequest.objects.filter(sync__isnull=True).values_list("pk", flat=True))
        SyncRequest.objects.filter(pk__in=taken).update(sync=sync)
        if not taken:  # another job synced them while this one waited for the lock
            ContentSync.objects.filter(pk=sync.pk).delete()
            return False
        ContentSync.objects.filter(pk=sync.pk).update(trigger=_describe_requests(taken))
        return True

    try:
        sync, _report = run_sync(source=source, trigger="queued", on_locked=take)
    except SyncRefused as exc:
        # The requests are answered, by this failure: retrying cannot change it, only a new push can.
        SyncRequest.objects.filter(pk__in=taken).update(sync=exc.sync)
        raise
    if not taken:
        return None
    if sync.status == ContentSync.Status.FAILED:
        raise SyncRefused(f"content sync #{sync.pk} failed: {sync.failure}", sync)
    return sync


def _describe_requests(pks: list[int]) -> str:
    requests = list(SyncRequest.objects.filter(pk__in=pks).order_by("received_at"))
    origins = sorted({r.get_origin_display() for r in requests})
    who = sorted({r.requested_by for r in requests if r.requested_by})
    text = f"{len(requests)} request(s): {', '.join(origins)}"
    return f"{text} by {', '.join(who)}" if who else text
