"""Prepared statements: the same answers prepared or not, prepared once per connection."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from content_loader.tests.factories import make_module
from learners import Learner
from progress import prepared
from progress.services import complete_content

pytestmark = pytest.mark.django_db


def test_named_parameters_become_positional_once_each():
    statement = prepared.Statement("progress_test_positional", "SELECT %(a)s + %(b)s + %(a)s")
    assert statement.positional == "SELECT $1 + $2 + $1"
    assert statement.names == ("a", "b")


def test_a_statement_is_prepared_in_its_first_round_trip_then_executed(settings):
    settings.DB_PREPARED_STATEMENTS = True
    statement = prepared.Statement(f"progress_test_{uuid.uuid4().hex}", "SELECT CAST(%(n)s AS integer) * 2")
    with CaptureQueriesContext(connection) as queries, connection.cursor() as cursor:
        prepared.execute(cursor, statement, {"n": 4})
        first = cursor.fetchone()
        prepared.execute(cursor, statement, {"n": 5})
        second = cursor.fetchone()
    assert (first, second) == ((8,), (10,))
    assert len(queries) == 2  # the PREPARE travels with the first EXECUTE
    assert queries[0]["sql"].startswith("PREPARE") and queries[1]["sql"].startswith("EXECUTE")


@pytest.mark.parametrize("enabled", [True, False])
def test_completion_answers_the_same_prepared_or_not(settings, enabled):
    settings.DB_PREPARED_STATEMENTS = enabled
    module = make_module(lenses=2)
    lenses = list(module.module_entries.order_by("position").values_list("item_id", flat=True))
    learner = Learner(session_token=uuid.uuid4())
    first = complete_content(learner=learner, content_id=lenses[0], content_type="lens", module_slug=module.slug)
    again = complete_content(learner=learner, content_id=lenses[0], content_type="lens", module_slug=module.slug)
    last = complete_content(learner=learner, content_id=lenses[1], content_type="lens", module_slug=module.slug)
    assert first.newly_completed and not again.newly_completed and again.completed_at == first.completed_at
    assert (first.module.status, first.module.completed, first.module.total) == ("in_progress", 1, 2)
    assert last.module_newly_completed and last.module.status == "completed"
