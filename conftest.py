"""Shared test fixtures.

Tests run on a real PostgreSQL: unless DATABASE_URL is set, the session starts a throwaway cluster
(devtools.pgcluster) on a free loopback port the first time a test needs the database, and removes it
at the end. Django's test runner then creates its `test_*` database inside it as usual.
"""

import os
import re

import dj_database_url
import pytest
from django.conf import settings
from django.db import connections

from devtools.pgcluster import ThrowawayPostgres


@pytest.fixture(scope="session")
def postgres_cluster():
    """The throwaway PostgreSQL cluster of this test session (None when DATABASE_URL is set)."""
    if os.environ.get("DATABASE_URL"):
        yield None
        return
    cluster = ThrowawayPostgres().start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, postgres_cluster):
    """Point the default database at the throwaway cluster before the test database is created."""
    if postgres_cluster is None:
        return
    config = dj_database_url.parse(postgres_cluster.url, conn_max_age=0, conn_health_checks=True)
    settings.DATABASES["default"].update(config)
    connections.settings["default"].update(config)
    # The handler may already hold a wrapper of the previous backend (SQLite): drop it.
    connections["default"].close()
    del connections["default"]


# Browser tests ---------------------------------------------------------------------------------------
# Playwright's Python package drives Debian's Chromium (never a downloaded browser build). Mark tests that
# use these fixtures `@pytest.mark.browser`; pair them with `live_server` and a transactional database.

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
def chromium(monkeypatch):
    """A headless Chromium for one test (Debian's /usr/bin/chromium unless CHROMIUM is set).

    Playwright's sync API keeps an event loop running on the test's thread while it is open, so Django
    would refuse ORM calls made on that thread (the live server answers from its own thread). Request
    this fixture after the fixtures that write to the database; the check is lifted for the test.
    """
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    executable = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not os.path.exists(executable):
        pytest.fail(f"No Chromium at {executable}: install Debian's `chromium` (make test does, as root).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_context_factory(chromium):
    """Make fresh browser contexts (separate cookie jars: separate learners); closed after the test."""
    contexts = []

    def make(**kwargs):
        context = chromium.new_context(**{"viewport": {"width": 1280, "height": 900}, **kwargs})
        context.set_default_timeout(10_000)
        # The YouTube embed is the one third-party element; tests never leave the machine.
        context.route(re.compile(r"^https?://(?!127\.0\.0\.1|localhost)"), lambda route: route.abort())
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
