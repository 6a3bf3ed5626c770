"""The background job that syncs content when a push (or "Sync now") asks for it."""

from __future__ import annotations

from jobs.retry import job

from .services import SyncRefused, sync_requested


@job(attempts=4, backoff_seconds=30, give_up_on=(SyncRefused,))
def sync_requested_content() -> int | None:
    """Sync the configured branch's newest commit for every pending request; returns the ContentSync id.

    Unreachable repository: retried (30 s, 60 s, 120 s). No such branch, or a UUID used twice: failed at
    once, recorded on the ContentSync row. Nothing pending (another job synced it already): returns None.
    """
    sync = sync_requested()
    return sync.pk if sync else None
