"""Shared test fixtures.

Tests run on a real PostgreSQL: unless DATABASE_URL is set, the session starts a throwaway cluster
(devtools.pgcluster) on a free loopback port the first time a test needs the database, and removes it
at the end. Django's test runner then creates its `test_*` database inside it as usual.
"""

import os

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
