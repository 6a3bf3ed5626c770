"""The registry browser in the admin: read-only, searchable by title, slug or UUID, showing where items are used."""

import pytest
from django.urls import reverse

from content_loader.models import ReplacedId
from content_loader.tests.factories import LensFactory, make_course, make_module

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("admin", "admin@example.org", "pw")
    client.force_login(user)
    return client


def test_changelist_searches_by_title_slug_and_uuid(staff_client):
    """Search finds items by title, by slug, and by UUID (also an old UUID the item replaces)."""
    module = make_module(lenses=1, slug="the-module", title="Findable module")
    lens = module.module_entries.get().item
    url = reverse("admin:content_loader_contentitem_changelist")
    assert "Findable module" in staff_client.get(url, {"q": "Findable"}).text
    assert "Findable module" in staff_client.get(url, {"q": "the-module"}).text
    response = staff_client.get(url, {"q": str(lens.id)})
    assert lens.title in response.text and "Findable module" not in response.text
    old = "99999999-9999-4999-8999-999999999999"
    ReplacedId.objects.create(old_id=old, item=lens)
    assert lens.title in staff_client.get(url, {"q": old}).text


def test_changelist_filters_by_type_and_retired(staff_client):
    """Filters by type and by retired narrow the list."""
    url = reverse("admin:content_loader_contentitem_changelist")
    make_module(lenses=1, title="A module")
    assert "A module" not in staff_client.get(url, {"content_type__exact": "lens"}).text
    assert "A module" in staff_client.get(url, {"retired": "no"}).text
    assert "A module" not in staff_client.get(url, {"retired": "yes"}).text


def test_item_page_shows_where_it_is_used_and_cannot_be_edited(staff_client):
    """A lens's page lists the modules placing it; a course's page its structure; nothing is editable."""
    module = make_module(lenses=2, title="Host module")
    course = make_course(units=[[module]], title="Host course")
    lens = module.module_entries.first().item
    page = staff_client.get(reverse("admin:content_loader_contentitem_change", args=[lens.pk])).text
    assert "Host module" in page and "position 0" in page
    assert 'name="_save"' not in page
    course_page = staff_client.get(reverse("admin:content_loader_contentitem_change", args=[course.pk])).text
    assert "Host module" in course_page and "Meeting: Meeting 1" in course_page
    assert staff_client.get(reverse("admin:content_loader_contentitem_add")).status_code == 403
    delete_url = reverse("admin:content_loader_contentitem_delete", args=[lens.pk])
    assert staff_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert LensFactory._meta.model.objects.filter(pk=lens.pk).exists()
