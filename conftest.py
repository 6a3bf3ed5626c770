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
    cluster = ThrowawayPostgres(autovacuum=False).start()
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
    config["ENGINE"] = "courseplatform.postgresql"  # the project's backend, as settings.py chooses it
    settings.DATABASES["default"].update(config)
    connections.settings["default"].update(config)
    # The handler may already hold a wrapper of the previous backend (SQLite): drop it.
    connections["default"].close()
    del connections["default"]


# The tutor ---------------------------------------------------------------------------------------------
# chat/tests/fake_tutor.py is a real HTTP server on 127.0.0.1 speaking the OpenAI streaming protocol.


@pytest.fixture(autouse=True)
def _content_cache_in_tmp(settings, tmp_path_factory):
    """Syncs in tests keep their parse cache under pytest's temporary folder, not in the project."""
    settings.CONTENT_CACHE_DIR = tmp_path_factory.getbasetemp() / "content-cache"


@pytest.fixture
def tutor_server(settings):
    """A running fake tutor, configured in settings (short timeouts so failure tests are quick)."""
    from chat.tests.fake_tutor import FakeTutorServer

    server = FakeTutorServer().start()
    settings.TUTOR_BASE_URL = server.base_url
    settings.TUTOR_API_KEY = "test-key"
    settings.TUTOR_MODEL = "fake-model"
    settings.TUTOR_TIMEOUT_SECONDS = 2
    settings.TUTOR_MAX_REPLY_SECONDS = 10
    try:
        yield server
    finally:
        from chat import replies

        # Replies are generated on background threads: let them end before the server and the database go.
        assert replies.wait_for_all(timeout=30), "a tutor reply was still being generated 30 s after the test"
        server.stop()


@pytest.fixture
def no_tutor(settings):
    """No tutor configured."""
    settings.TUTOR_BASE_URL = ""
    settings.TUTOR_MODEL = ""


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
        try:
            yield browser
        finally:
            browser.close()
            # ORM calls made while Playwright's loop runs get connections of their own: close them here,
            # or the test database can't be dropped at the end of the session.
            connections.close_all()


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


def pytest_terminal_summary(terminalreporter):
    """The accessibility checks' one line per page (tests/a11y.py), whatever the -r options."""
    import sys

    a11y = sys.modules.get("tests.a11y")
    if a11y is None or not a11y.RESULTS:
        return
    terminalreporter.section("axe-core accessibility checks")
    for result in a11y.RESULTS:
        terminalreporter.write_line(result.summary())
