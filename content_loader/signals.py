"""`content_synced`: sent once a sync's writes are committed, for apps that keep something derived from the
registry (the search index). Keyword argument `report`: the SyncReport. Sent after every sync that ran (also one
that changed nothing, so receivers can catch up), never for --check, --dry-run or a blocked sync. A
receiver's error is logged and does not fail the sync."""

from django.dispatch import Signal

content_synced = Signal()
