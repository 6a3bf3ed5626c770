"""The content parts the pages keep between requests (learn.fragments) never outlive the sync that made them."""

import io
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from content_loader import kept
from content_loader.models import ContentItem

pytestmark = pytest.mark.django_db

COURSE = "learning-that-sticks"
MODULE = "why-we-forget"
LENS_ID = "10e17a33-9405-45aa-8a7a-c27c664ea08f"  # "Sleep and memory", optional in "Why we forget"
LENS_FILE = "Lenses/Sleep and memory.md"
MODULE_FILE = "modules/why-we-forget.md"


def sync(vault: Path) -> None:
    call_command("sync_content", str(vault), verbosity=0, stdout=io.StringIO(), stderr=io.StringIO())


def version_now() -> str:
    return kept.content_version(ContentItem.objects.get(slug=COURSE))


def edit(vault: Path, relative: str, old: str, new: str) -> None:
    path = vault / relative
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture
def vault(tmp_path):
    """A copy of the demo course, synced once."""
    root = tmp_path / "vault"
    shutil.copytree(Path(settings.BASE_DIR) / "content", root)
    sync(root)
    return root


def test_a_resync_shows_the_changed_lens_module_and_titles_at_once(vault):
    """Sync, view both pages (filling the kept parts), change a lens's text and title and a module's title,
    resync: both pages show the change on the next request, with nothing else invalidated by hand."""
    client = Client()
    lens_url = reverse("learn:lens", kwargs={"course_slug": COURSE, "module_slug": MODULE, "lens_id": LENS_ID})
    course_url = reverse("learn:course", args=[COURSE])
    for _ in range(2):  # the second request is served from the kept parts
        lens_page = client.get(lens_url).content.decode()
        course_page = client.get(course_url).content.decode()
    assert "what happens at night" in lens_page and "Sleep and memory" in lens_page
    assert "Why we forget" in course_page
    version = version_now()

    edit(vault, LENS_FILE, "what happens at night", "what happens while you sleep")
    edit(vault, LENS_FILE, "title: Sleep and memory", "title: Sleep and remembering")
    edit(vault, MODULE_FILE, "title: Why we forget", "title: Why memories fade")
    sync(vault)

    lens_page = client.get(lens_url).content.decode()
    course_page = client.get(course_url).content.decode()
    assert "what happens while you sleep" in lens_page and "what happens at night" not in lens_page
    assert "Sleep and remembering" in lens_page and "Sleep and memory" not in lens_page
    assert "Why memories fade" in course_page and "Why we forget" not in course_page
    assert version_now() != version


def test_a_sync_that_changes_nothing_keeps_the_content_version(vault):
    """A no-change sync writes no item, so the kept parts stay valid (the version is the same)."""
    before = version_now()
    sync(vault)
    assert version_now() == before


def test_retiring_an_item_moves_the_content_version(vault):
    """Retiring (a lens gone from the vault) changes the version, like writing does."""
    before = version_now()
    ContentItem.objects.filter(pk=LENS_ID).update(retired_at=ContentItem.objects.get(pk=LENS_ID).last_synced_at)
    assert version_now() != before


def test_a_staff_preview_never_fills_what_learners_are_shown(admin_client, client):
    """A lens linking to a draft: the previewer (a superuser) sees the link resolved, a learner viewing the
    same lens afterwards sees plain text, and the other way round, with both views kept."""
    from content_loader.tests.factories import make_course, make_module
    from learn.tests.test_links import lens_page, link, place, text_lens

    drafty = make_module(lenses=1, slug="drafty", is_draft=True)
    draft_lens = drafty.module_entries.get().item
    draft_lens.is_draft = True
    draft_lens.save()
    intro = make_module(lenses=1, slug="intro")
    course = make_course(units=[[intro, drafty]], slug="light")
    reader = text_lens(link(draft_lens.pk, "the draft"))
    place(intro, reader)
    url = lens_page(course, intro, reader)
    resolved = lens_page(course, drafty, draft_lens)
    for _ in range(2):
        assert f'href="{resolved}"' in admin_client.get(url).content.decode()
        learner_page = client.get(url).content.decode()
        assert '<span class="content-link unresolved">the draft</span>' in learner_page
        assert resolved not in learner_page
