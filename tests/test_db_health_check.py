"""The database backend's health check (courseplatform/postgresql/base.py) against a real PostgreSQL.

A quiet kept connection is trusted without a round trip; a connection whose server end went away (here
pg_terminate_backend, as a restart or a PgBouncer restart does) is noticed before the request's first
query, closed, and replaced.
"""

import time

import pytest
from django.db import connection, connections

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def other():
    """A second connection to the same database, to watch and terminate the first."""
    wrapper = connections.create_connection("default")
    yield wrapper
    wrapper.close()


def last_query(other, pid: int) -> str:
    with other.cursor() as cursor:
        cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone()[0]


def test_the_project_backend_is_in_use():
    assert type(connections["default"]).__module__ == "courseplatform.postgresql.base"
    assert connection.health_check_enabled


def test_a_quiet_connection_is_checked_without_a_round_trip(other):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'marker'")
    pid = connection.connection.info.backend_pid
    connection.health_check_done = False  # as at the start of the next request
    connection.close_if_health_check_failed()
    assert connection.health_check_done
    assert connection.connection is not None and connection.connection.info.backend_pid == pid
    assert last_query(other, pid) == "SELECT 'marker'"  # Django's own check would have sent SELECT 1


def test_a_terminated_connection_is_replaced_before_the_first_query(other):
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 5
    while last_query_pid_alive(other, pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    connection.health_check_done = False
    connection.close_if_health_check_failed()
    assert connection.connection is None  # closed: the next query opens a fresh connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


def test_a_connection_inside_a_transaction_gets_the_full_check(other):
    connection.ensure_connection()
    connection.connection.execute("BEGIN")
    try:
        assert not connection._quiet()
    finally:
        connection.connection.execute("ROLLBACK")
    assert connection._quiet()


def last_query_pid_alive(other, pid: int) -> bool:
    with other.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone() is not None
