"""`__any_of` finds what `__in` finds, with the ids sent as one parameter on PostgreSQL (ops.lookups)."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from content_loader.models import ContentItem
from content_loader.tests.factories import LensFactory
from ops.lookups import UUIDs

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("wrap", [list, set, UUIDs], ids=["list", "set", "UUIDs"])
def test_any_of_finds_what_in_finds(wrap):
    lenses = [LensFactory() for _ in range(3)]
    wanted = wrap([lenses[0].pk, lenses[2].pk, uuid.uuid4()])
    found = set(ContentItem.objects.filter(id__any_of=wanted).values_list("id", flat=True))
    assert found == set(ContentItem.objects.filter(id__in=list(wanted)).values_list("id", flat=True))
    assert found == {lenses[0].pk, lenses[2].pk}
    assert not ContentItem.objects.filter(id__any_of=wrap([])).exists()


def test_many_ids_are_one_parameter():
    """271 ids are one uuid[] literal on PostgreSQL, not 271 parameters quoted one by one."""
    if connection.vendor != "postgresql":
        pytest.skip("the one-literal form is PostgreSQL's")
    lens = LensFactory()
    ids = UUIDs([lens.pk, *(uuid.uuid4() for _ in range(270))])
    with CaptureQueriesContext(connection) as queries:
        assert list(ContentItem.objects.filter(id__any_of=ids).values_list("id", flat=True)) == [lens.pk]
    assert "= ANY(CAST(" in queries.captured_queries[0]["sql"]
    assert queries.captured_queries[0]["sql"].count(str(lens.pk)) == 1
