"""The content version moves with every statement that writes content, and only then (content_loader.kept)."""

import uuid

import pytest
from django.db import connection, transaction
from django.utils import timezone

from content_loader import kept
from content_loader.models import ContentItem, CourseEntry, ModuleEntry, ReplacedId, SlugAlias
from content_loader.tests.factories import LensFactory, ModuleFactory, make_course

pytestmark = pytest.mark.django_db


def version() -> str:
    return kept.content_version()


@pytest.fixture
def course(db):
    module = ModuleFactory()
    for position in range(2):
        ModuleEntry.objects.create(module=module, position=position, item=LensFactory())
    return make_course(units=[[module]])


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(lambda c: LensFactory(), id="item inserted"),
        pytest.param(lambda c: ContentItem.objects.filter(pk=c.pk).update(title="Renamed"), id="item updated"),
        pytest.param(
            lambda c: ContentItem.objects.filter(pk=c.pk).update(retired_at=timezone.now()), id="item retired"
        ),
        pytest.param(lambda c: ModuleEntry.objects.filter(position=1).delete(), id="module entry deleted"),
        pytest.param(lambda c: ModuleEntry.objects.update(optional=True), id="module entries updated"),
        pytest.param(lambda c: CourseEntry.objects.filter(course=c).delete(), id="course entries deleted"),
        pytest.param(lambda c: ReplacedId.objects.create(old_id=uuid.uuid4(), item=c), id="replaced id inserted"),
        pytest.param(lambda c: SlugAlias.objects.create(content_type="course", slug="old", item=c), id="alias"),
    ],
)
def test_every_write_to_a_content_table_moves_the_version(course, write):
    before = version()
    write(course)
    assert version() != before


def test_a_statement_that_writes_no_row_keeps_the_version(course):
    before = version()
    assert ContentItem.objects.filter(pk=uuid.uuid4()).update(title="Nobody") == 0
    ModuleEntry.objects.filter(module_id=uuid.uuid4()).delete()
    assert version() == before


def test_a_version_rolled_back_is_never_given_again(course):
    """After a rolled-back write (a failed sync) the version is the one before it, and the next write gets a
    number never seen: a memo entry kept under the rolled-back version can never be read as current."""
    if connection.vendor != "postgresql":
        pytest.skip("the version triggers are PostgreSQL's (SQLite reads the items)")
    before = version()
    with pytest.raises(RuntimeError), transaction.atomic():
        ContentItem.objects.filter(pk=course.pk).update(title="Half-synced")
        rolled_back = version()
        raise RuntimeError
    assert version() == before
    ContentItem.objects.filter(pk=course.pk).update(title="Synced")
    assert version() not in {before, rolled_back}


def test_the_memo_keeps_at_most_its_size_and_drops_the_least_recently_used():
    """A bounded memo: old versions' entries leave as new ones arrive."""
    memo = kept.Memo(size=2)
    assert memo.get_or_build("a", lambda: 1) == 1
    memo.get_or_build("b", lambda: 2)
    assert memo.get_or_build("a", lambda: 99) == 1  # kept, and now the most recent
    memo.get_or_build("c", lambda: 3)
    assert memo.get_or_build("b", lambda: 22) == 22  # "b" went first
    assert memo.get("gone", "default") == "default"
