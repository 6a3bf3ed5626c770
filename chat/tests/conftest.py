"""Fixtures of the chat tests: a fake tutor server on 127.0.0.1, configured as the tutor."""

import os

import pytest
from django.db import connections

from chat.tests.fake_tutor import FakeTutorServer


@pytest.fixture
def tutor_server(settings):
    """A running fake tutor, configured in settings (short timeouts so failure tests are quick)."""
    server = FakeTutorServer().start()
    settings.TUTOR_BASE_URL = server.base_url
    settings.TUTOR_API_KEY = "test-key"
    settings.TUTOR_MODEL = "fake-model"
    settings.TUTOR_TIMEOUT_SECONDS = 2
    settings.TUTOR_MAX_REPLY_SECONDS = 10
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def no_tutor(settings):
    """No tutor configured."""
    settings.TUTOR_BASE_URL = ""
    settings.TUTOR_MODEL = ""


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture
def chat_browser(monkeypatch):
    """Headless Debian Chromium driven by Playwright (never a downloaded browser build).

    Playwright's sync API runs an event loop on the test's thread, so Django would refuse ORM calls
    there; request this fixture after the fixtures that write to the database.
    """
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    executable = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not os.path.exists(executable):
        pytest.fail(f"No Chromium at {executable}: install Debian's `chromium` (make test does, as root).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            # ORM calls made while Playwright's loop runs get connections of their own: close them here,
            # or the test database can't be dropped at the end of the session.
            connections.close_all()
