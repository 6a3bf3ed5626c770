"""Fixtures of the learner pages' browser tests (the browser itself is the root conftest's)."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command


@pytest.fixture
def demo(live_server):
    """The demo course of content/, synced by `sync_content` as `make run` does; yields the server URL."""
    call_command("sync_content", str(Path(settings.BASE_DIR) / "content"), verbosity=0)
    return live_server.url
