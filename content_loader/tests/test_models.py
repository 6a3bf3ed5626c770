"""Database invariants of the content registry."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from content_loader.models import CourseEntry, ModuleEntry
from content_loader.tests.factories import CourseFactory, LensFactory, ModuleFactory, make_course, make_module

pytestmark = pytest.mark.django_db


def test_active_slugs_are_unique_per_type():
    """Two active modules cannot share a slug, but a retired one frees it."""
    old = ModuleFactory(slug="intro")
    with pytest.raises(IntegrityError), transaction.atomic():
        ModuleFactory(slug="intro")
    old.retired_at = timezone.now()
    old.save()
    ModuleFactory(slug="intro")
    CourseFactory(slug="intro")  # another type may use the same slug


def test_hidden_entry_must_be_optional():
    """`hide` without `optional` is rejected by the database."""
    module = ModuleFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ModuleEntry.objects.create(module=module, position=0, item=LensFactory(), hide=True, optional=False)


def test_meeting_entries_have_no_module():
    """A course entry is a module with a module, or a meeting without one."""
    course = CourseFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        CourseEntry.objects.create(course=course, position=0, kind=CourseEntry.Kind.MEETING, module=ModuleFactory())


def test_factories_build_a_course():
    """make_course and make_module build units of modules with required and optional lenses."""
    module = make_module(lenses=2, optional=1)
    course = make_course(units=[[module]])
    assert [e.kind for e in course.course_entries.all()] == ["module", "meeting"]
    assert [e.optional for e in module.module_entries.all()] == [False, False, True]
