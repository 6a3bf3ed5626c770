"""Search over the real vault (skipped when it is not here): synced, indexed, ranked, drafts never."""

import pytest

from content_loader.models import ContentItem
from content_loader.sync import sync_content
from devtools.corpus import real_vault
from search.models import LensDocument
from search.queries import search_lenses


@pytest.fixture
def synced_real_vault(django_capture_on_commit_callbacks):
    path = real_vault()
    if path is None:
        pytest.skip("the real vault is not here (../shared/corpora/lens-edu-relay; set LENS_VAULT)")
    with django_capture_on_commit_callbacks(execute=True):
        sync_content(path)
    return path


@pytest.mark.django_db
@pytest.mark.slow
def test_real_vault_is_searchable(client, synced_real_vault, django_assert_num_queries):
    """Every published lens is indexed; a search finds the lens titled with the words first, each result opens."""
    lenses = ContentItem.objects.published().filter(content_type="lens")
    assert LensDocument.objects.count() == lenses.count() > 100
    drafts = set(ContentItem.objects.filter(is_draft=True).values_list("pk", flat=True))
    assert not LensDocument.objects.filter(pk__in=drafts).exists()
    results = search_lenses("superhuman AI extinction threat")
    assert results and "<mark>" in results[0].title
    assert "superhuman" in results[0].title.lower() and "extinction" in results[0].title.lower()
    client.get("/")
    with django_assert_num_queries(3):
        page = client.get("/search/", {"q": "alignment"})
    found = page.context["results"]
    assert len(found) == 20 and all("<mark>" in r.snippet or "<mark>" in r.title for r in found)
    for result in found[:5]:
        assert client.get(result.url).status_code == 200, result.url
    transcript = search_lenses("transcript OR video")  # websearch syntax works on real text
    assert transcript
