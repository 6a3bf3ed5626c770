"""Search over published lenses: indexed at sync, ranked and highlighted, drafts never, constant queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from content_loader.models import ContentItem, ModuleEntry
from content_loader.tests.factories import LensFactory, ModuleFactory, make_course, text_body
from search.documents import lens_text
from search.indexing import reindex
from search.models import LensDocument
from search.queries import BadQuery, clean_query, search_lenses

pytestmark = pytest.mark.django_db


def test_lens_text_takes_text_excerpts_and_transcripts():
    """The searchable text: tldr, text segments, article titles and excerpts, video titles and transcripts."""
    body = {
        "tldr": "Short.",
        "segments": [
            {"type": "text", "text": "Light scatters."},
            {"type": "article", "article": {"title": "On Scattering"}, "text": "Short wavelengths."},
            {"type": "video", "video": {"title": "Sky colours"}, "transcript": "It is blue."},
            {"type": "chat", "instructions": "Secret tutor instructions."},
        ],
    }
    assert (
        lens_text(body)
        == "Short.\n\nLight scatters.\n\nOn Scattering\n\nShort wavelengths.\n\nSky colours\n\nIt is blue."
    )


def test_reindex_writes_published_lenses_and_only_what_changed():
    """Drafts and retired lenses get no document; a changed checksum rewrites one; an unchanged run writes nothing."""
    kept = LensFactory(title="Kept")
    LensFactory(title="Draft", is_draft=True)
    ModuleFactory(title="A module")
    assert reindex() == {"written": 1, "deleted": 0, "documents": 1}
    assert list(LensDocument.objects.values_list("title", flat=True)) == ["Kept"]
    assert LensDocument.objects.get().vector is not None
    with CaptureQueriesContext(connection) as queries:
        assert reindex()["written"] == 0
    assert not [q for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    ContentItem.objects.filter(pk=kept.pk).update(checksum="changed", body=text_body("New words."))
    reindex()
    assert LensDocument.objects.get().text == "New words."
    ContentItem.objects.filter(pk=kept.pk).update(is_draft=True)
    assert reindex()["deleted"] == 1 and not LensDocument.objects.exists()


def test_sync_updates_the_index_after_commit(django_capture_on_commit_callbacks, tmp_path):
    """content_synced (sent once the sync commits) indexes the demo vault's published lenses."""
    from django.conf import settings

    from content_loader.sync import sync_content

    with django_capture_on_commit_callbacks(execute=True):
        sync_content(settings.BASE_DIR / "content")
    published = ContentItem.objects.published().filter(content_type="lens").count()
    assert published and LensDocument.objects.count() == published
    assert search_lenses("forgetting")


@pytest.fixture
def lenses():
    """Three lenses in a course, one standalone, one draft: words placed to test ranking."""
    module = ModuleFactory(slug="light")
    in_title = LensFactory(title="Why scattering matters", body=text_body("Blue skies."))
    in_text = LensFactory(title="Colours", body=text_body("Sunsets are red because of scattering of light."))
    other = LensFactory(title="Unrelated", body=text_body("Nothing here."))
    for position, lens in enumerate([in_title, in_text, other]):
        ModuleEntry.objects.create(module=module, position=position, item=lens)
    course = make_course(units=[[module]], slug="optics")
    standalone = LensFactory(title="Scattering alone", body=text_body("Scattering: 1 < 2 & Mie agrees, <b>wins</b>."))
    draft = LensFactory(title="Scattering draft", is_draft=True, body=text_body("Scattering secrets."))
    reindex()
    return {"in_title": in_title, "in_text": in_text, "standalone": standalone, "draft": draft, "course": course}


def test_results_are_ranked_highlighted_and_link_where_the_lens_opens(client, lenses):
    """Title matches rank first; the words are marked; a placed lens opens in its course, else standalone."""
    page = client.get("/search/", {"q": "scattering"})
    assert page.status_code == 200
    results = page.context["results"]
    titles = [str(r.title) for r in results]
    assert set(titles[:2]) == {"<mark>Scattering</mark> alone", "Why <mark>scattering</mark> matters"}
    assert titles[2] == "Colours"
    assert "<mark>scattering</mark>" in str(results[2].snippet)
    in_title = lenses["in_title"]
    assert results[titles.index("Why <mark>scattering</mark> matters")].url == (
        f"/courses/optics/modules/light/lenses/{in_title.pk}/"
    )
    standalone = results[titles.index("<mark>Scattering</mark> alone")]
    assert standalone.url == f"/lenses/{lenses['standalone'].pk}/scattering-alone/"
    html = page.content.decode()
    # Lens text is escaped (PostgreSQL drops tag-like words from headlines), the marks are not.
    assert "1 &lt; 2 &amp; Mie" in str(standalone.snippet) and "<b>" not in html
    assert client.get(standalone.url).status_code == 200


def test_stemming_finds_other_forms(client, lenses):
    """English stemming: "scattered" finds the lenses about scattering."""
    assert len(client.get("/search/", {"q": "scattered"}).context["results"]) == 3


def test_drafts_never_appear(client, lenses, django_user_model):
    """A draft lens is not found, not even by staff who may preview drafts."""
    staff = django_user_model.objects.create_superuser("root", password="x-long-password-1")
    client.force_login(staff)
    page = client.get("/search/", {"q": "secrets"})
    assert page.status_code == 200 and page.context["results"] == []
    assert "No lens matches “secrets”" in page.content.decode()
    # Even a document left behind (a sync not yet indexed) is filtered on the item itself.
    LensDocument.objects.create(item=lenses["draft"], checksum="x", title="Scattering draft", text="secrets")
    from search.indexing import search_vector

    LensDocument.objects.filter(pk=lenses["draft"].pk).update(vector=search_vector())
    assert client.get("/search/", {"q": "secrets"}).context["results"] == []


def test_query_count_does_not_grow_with_results(client, lenses, django_assert_num_queries):
    """The results page costs the same number of queries for 1 result as for 20."""
    for n in range(25):
        LensFactory(title=f"Prism {n}", body=text_body("Prisms split light."))
    reindex()
    client.get("/search/", {"q": "unrelated"})  # the learner's cookie is set
    # session-less learner lookups, then the search (1) and where the lenses open (2)
    with django_assert_num_queries(3):
        one = client.get("/search/", {"q": "unrelated"})
    with django_assert_num_queries(3):
        many = client.get("/search/", {"q": "prisms"})
    assert len(one.context["results"]) == 1 and len(many.context["results"]) == 20


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ("", 200, "Type a word or two"),
        ("   ", 200, "Type a word or two"),
        ("x" * 201, 400, "keep it under 200"),
        ("!!! ??? ...", 400, "only punctuation"),
        ("'\"&|!():* <b>", 200, "No lens matches"),
        ('scattering -"blue skies" OR', 200, "best first"),
    ],
)
def test_odd_queries_get_a_clear_answer(client, lenses, query, status, words):
    """Empty, too long, punctuation-only and operator-laden queries answer with a message, never a 500."""
    page = client.get("/search/", {"q": query})
    assert page.status_code == status
    assert words in page.content.decode()


def test_clean_query_collapses_whitespace():
    assert clean_query("  blue \n sky ") == "blue sky"
    with pytest.raises(BadQuery):
        clean_query("\t")


def test_every_page_has_the_search_box(client):
    """The header of every page has the search form; on the results page it holds the query."""
    assert 'role="search"' in client.get("/").content.decode()
    assert 'value="blue sky"' in client.get("/search/", {"q": "blue  sky"}).content.decode()


def test_sqlite_fallback_marks_the_words(lenses):
    """The icontains fallback (SQLite) finds, orders title matches first and marks the words too."""
    from search import queries

    rows = queries._contains("scattering")
    titles = [title for _, title, _ in rows]
    assert "\ue000" in titles[0] and "\ue000" in titles[1] and "\ue000" not in titles[2]  # title matches first
    assert len(rows) == 3  # no draft
    assert all("\ue000" in snippet or "\ue000" in title for _, title, snippet in rows)


def test_reindex_reads_only_what_lens_text_takes_and_gets_the_same_text():
    """On PostgreSQL the index reads the searched parts of each body, and its text is that of the whole body."""
    body = {
        "tldr": "Short.",
        "segments": [
            {"type": "text", "text": "Light scatters.", "html": "<p>Light scatters.</p>"},
            {
                "type": "article",
                "article": {"title": "On Scattering", "path": "a.md"},
                "text": "Short wavelengths.",
                "before_html": "<p>Long before.</p>",
                "excerpt_html": "<p>Short wavelengths.</p>",
            },
            {"type": "article", "text": "No article info."},
            {"type": "video", "video": {"title": "Sky colours"}, "transcript": "It is blue."},
            {"type": "chat", "instructions": "Secret tutor instructions."},
            {"type": "text"},
        ],
    }
    lens = LensFactory(title="Sky", body=body)
    bare = LensFactory(title="Bare", body={"segments": []})
    with CaptureQueriesContext(connection) as queries:
        reindex()
    texts = dict(LensDocument.objects.values_list("item_id", "text"))
    assert texts[lens.pk] == lens_text(body) and "Secret" not in texts[lens.pk]
    assert texts[bare.pk] == ""
    if connection.vendor == "postgresql":
        read = next(
            q["sql"] for q in queries if q["sql"].lstrip().startswith("SELECT") and "jsonb_build_object" in q["sql"]
        )
        assert '"content_loader_contentitem"."body"' not in read  # never the whole body
