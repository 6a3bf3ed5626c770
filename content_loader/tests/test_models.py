"""Database invariants of the content registry."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from content_loader.models import ContentItem, ContentType, CourseEntry, ModuleEntry, SlugAlias, SlugMoved
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


def test_a_course_is_found_by_its_slug_and_an_earlier_slug_says_where_it_moved():
    """`course_at` finds the course; an alias raises `SlugMoved` with the current slug; a draft needs `drafts`."""
    course = make_course(units=[[make_module()]], slug="light")
    SlugAlias.objects.create(content_type=ContentType.COURSE, slug="old-light", item=course)
    draft = make_course(units=[], slug="draft", is_draft=True)

    assert ContentItem.objects.course_at("light") == course
    with pytest.raises(SlugMoved) as moved:
        ContentItem.objects.course_at("old-light")
    assert (moved.value.content_type, moved.value.slug) == (ContentType.COURSE, "light")
    assert ContentItem.objects.course_at("nope") is None
    assert ContentItem.objects.course_at("draft") is None
    assert ContentItem.objects.course_at("draft", drafts=True) == draft
    assert ContentItem.objects.find_by_slug(ContentType.COURSE, "old-light") == course  # the API follows it


def test_a_module_is_found_in_its_course_and_an_earlier_slug_only_where_the_course_places_it():
    """`module_at` finds the course's entry for the module (parent loaded); an alias raises `SlugMoved`, but
    not for a module the course does not place."""
    intro, other = make_module(slug="intro"), make_module(slug="other")
    course = make_course(units=[[intro]])
    make_course(units=[[other]])
    SlugAlias.objects.create(content_type=ContentType.MODULE, slug="old-intro", item=intro)
    SlugAlias.objects.create(content_type=ContentType.MODULE, slug="old-other", item=other)

    assert CourseEntry.objects.module_at(course, "intro").module == intro
    with pytest.raises(SlugMoved) as moved:
        CourseEntry.objects.module_at(course, "old-intro")
    assert (moved.value.content_type, moved.value.slug) == (ContentType.MODULE, "intro")
    assert CourseEntry.objects.module_at(course, "old-other") is None
    assert CourseEntry.objects.module_at(course, "other") is None


def test_a_course_entry_finds_its_lenses_and_the_module_after_it():
    """`placement_of` finds a lens the module places (a draft only with `drafts`); `next_module` the module
    after it in the course, skipping meetings and retired modules."""
    first, retired, last = make_module(lenses=2), make_module(), make_module()
    course = make_course(units=[[first], [retired, last]])
    retired.retired_at = timezone.now()
    retired.save()
    entry = CourseEntry.objects.get(course=course, module=first)
    lens = first.module_entries.first().item

    assert entry.placement_of(lens.pk).item == lens
    assert entry.placement_of(last.module_entries.first().item_id) is None
    lens.is_draft = True
    lens.save()
    assert entry.placement_of(lens.pk) is None
    assert entry.placement_of(lens.pk, drafts=True).item == lens
    assert entry.next_module() == last
    assert CourseEntry.objects.get(course=course, module=last).next_module() is None
