"""How many learners a sync would affect: an extension point for the progress app.

`content_loader` knows no learners (it imports neither `progress` nor `chat`). The progress app registers
a counter in its `AppConfig.ready()`:

    from content_loader.impact import register_progress_counter
    register_progress_counter(count_learners_with_progress)

where the function takes a set of content UUIDs and returns the number of distinct learners with progress
on any of them. `sync_content --dry-run` uses it; without one it says the impact is unknown.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

ProgressCounter = Callable[[set[uuid.UUID]], int]

_counter: ProgressCounter | None = None


def register_progress_counter(counter: ProgressCounter | None) -> None:
    """Install the function that counts learners with progress on content ids (None removes it)."""
    global _counter
    _counter = counter


def count_learners(content_ids: set[uuid.UUID]) -> int | None:
    """Distinct learners with progress on any of `content_ids`; None when no progress app registered."""
    if _counter is None:
        return None
    if not content_ids:
        return 0
    return _counter(set(content_ids))
