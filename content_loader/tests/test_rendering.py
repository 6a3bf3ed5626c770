"""Markdown becomes safe HTML; vault directives and wikilinks render sensibly."""

import uuid

from content_loader.parsing import build_catalog, read_vault
from content_loader.parsing.rendering import LinkTarget, plain_text, render_markdown


def test_raw_html_is_sanitised():
    """Scripts, event handlers and javascript: links never get through; harmless tags like <sup> do."""
    html = render_markdown(
        'a<sup>1</sup> <script>alert(1)</script><b onclick="x()">b</b> [j](javascript:alert(1)) '
        '<img src="x" onerror="y()">'
    )
    assert "<script" not in html and "onclick" not in html and "onerror" not in html
    assert 'href="javascript' not in html
    assert "<sup>1</sup>" in html


def test_collapse_note_and_footnote_directives():
    """`:::collapse` is a labelled <details>; notes are labelled; a `:footnote[...]` leaves a lettered marker
    in the text and its note in a list after it; directives nest; nothing is shown raw."""
    html = render_markdown(
        "Text :collapse[hidden :note[inner]] and :footnote[a *note*].\n::note[own line]\n\n"
        ":::collapse\nFolded paragraph.\n:::\n\n:::collapse\n#### Read more\n\nMore.\n:::\n\n"
        ":::note\nA note block.\n:::\n\nRef[^1].\n\n[^1]: Author note.\n",
        id_prefix="s1-",
    )
    assert (
        '<span class="collapse">hidden <span class="note"><span class="note__label">Note:</span> inner</span></span>'
        in html
    )
    assert '<span class="note note--line"><span class="note__label">Note:</span> own line</span>' in html
    assert '<details class="collapse"><summary>Show the collapsed text</summary>\n<p>Folded paragraph.</p>' in html
    assert '<details class="collapse"><summary class="collapse__heading">Read more</summary>' in html
    assert '<aside class="note"><p class="note__label">Note</p>\n<p>A note block.</p>\n</aside>' in html
    assert '<sup class="footnote-ref lens-footnote-ref"><a href="#s1-lfn-a" id="s1-lfnref-a"' in html
    assert (
        '<li id="s1-lfn-a" class="lens-footnote"><span class="lens-footnote__marker">[a]</span> a <em>note</em>' in html
    )
    assert html.index("Author note.") < html.index("Notes from the course team")  # the article's own first
    assert ":collapse" not in html and ":note" not in html and ":footnote" not in html


def test_a_collapse_labelled_by_its_heading_shows_the_heading_once():
    """A `:::collapse` starting with a heading has that heading (with its markup) as its label and not again
    inside; the heading's text stays in the plain text; a heading later in the block is kept."""
    html = render_markdown(":::collapse\n#### Read *more*\n\nMore.\n\n#### Second\n:::\n")
    assert '<summary class="collapse__heading">Read <em>more</em></summary>' in html
    # The later heading stays a heading (levelled under the lens title like every content heading).
    assert html.count("Read") == 1 and html.count("<h2") == 1 and "Second</h2>" in html
    assert plain_text(html) == "Read more\nMore.\nSecond"


def test_an_unknown_directive_shows_its_text_never_the_directive():
    """A misspelled `:::colapse` block or `::nte[...]` shows its content as text (sync reports the name);
    ordinary colons in prose are left alone."""
    html = render_markdown(":::colapse\nHidden words.\n:::\n\nSee ::nte[this aside] here. Time 10:30[1] and a:b.\n")
    assert '<div class="directive">\n<p>Hidden words.</p>\n</div>' in html
    assert 'See <span class="directive">this aside</span> here. Time 10:30[1] and a:b.' in html
    assert ":::" not in html and "::nte" not in html


def test_ids_are_prefixed_and_in_page_links_follow():
    """Every id of a piece gets its prefix (two excerpts' footnotes never collide, and no piece can take an
    id of the page); `#x` links follow the prefix; a heading has a GitHub-style id that links find."""
    html = render_markdown(
        '## Section One\n\nSee [above](#section-one), note[^1], <a id="viewer">x</a>.\n\n[^1]: The note.\n',
        id_prefix="s2-",
    )
    assert '<h2 id="s2-section-one">' in html and '<a href="#s2-section-one"' in html
    assert 'href="#s2-fn1" id="s2-fnref1"' in html and '<li id="s2-fn1"' in html
    assert 'id="s2-viewer"' in html and 'id="viewer"' not in html


def test_article_links_resolve_against_the_source_url():
    """In an article, relative links and images resolve against its `source_url`, an anchor that is not in
    the piece leads to the original at that anchor, and images come over HTTPS, lazily, without referrer."""
    html = render_markdown(
        "[next](/5/next-chapter) [up](../index.html) [there](#elsewhere) [proto](//example.org/x) "
        '<a href=\\"https://arxiv.org/abs/1\\">quoted</a> ![chart](img/chart.png) ![old](http://example.org/a.png)',
        id_prefix="s0-",
        base_url="https://book.example/4/chapter#top",
    )
    assert 'href="https://book.example/5/next-chapter"' in html
    assert 'href="https://book.example/index.html"' in html
    assert 'href="https://book.example/4/chapter#elsewhere"' in html
    assert 'href="https://example.org/x"' in html
    assert 'href="https://arxiv.org/abs/1"' in html
    assert (
        '<img loading="lazy" decoding="async" referrerpolicy="no-referrer" src="https://book.example/4/img/chart.png"'
        in html
    )
    assert 'src="https://example.org/a.png"' in html


def test_a_hostile_source_url_never_makes_a_script_link():
    """Links are resolved after sanitising, so a `javascript:` (or other non-web) `source_url` is never
    joined into a link: the relative link is dropped instead."""
    for base in ("javascript:alert(1)//", "data:text/html,x", " JavaScript:alert(1)"):
        html = render_markdown("[a](/x) [b](#y) ![c](z.png)", id_prefix="s0-", base_url=base)
        assert "href=" not in html and "src=" not in html and "javascript" not in html.lower(), base


def test_links_that_would_lead_nowhere_are_not_links():
    """Without a `source_url`, a relative link or an anchor that is not in the piece is text, never a dead link."""
    html = render_markdown("[a](/somewhere) [b](#missing) [c](https://example.org/)")
    assert html.count("href=") == 1 and 'href="https://example.org/"' in html


def test_wikilinks_and_cards():
    """Wikilinks to content items become links by UUID; unknown targets become plain text."""
    target = LinkTarget("abc", "The lens")
    html = render_markdown(
        "See [[../Lenses/X|this]], ![[../Lenses/X]] and [[nowhere]].\n\n::card[[../Lenses/X]]",
        resolve_link=lambda t: target if "X" in t else None,
    )
    assert '<a class="content-link" data-content-id="abc" href="#content-abc"' in html  # the pages resolve it
    assert ">this</a>" in html and ">The lens</a>" in html
    assert '<span class="content-link unresolved">nowhere</span>' in html
    assert '<a class="content-card" data-content-id="abc"' in html


def test_wikipedia_style_citations_are_links_not_wikilinks():
    """`[[1]](url)` is a Markdown link whose text is "[1]"."""
    html = render_markdown("Claim.<sup>[[1]](https://example.org/ref)</sup>")
    assert '<a href="https://example.org/ref" rel="noopener noreferrer">[1]</a>' in html


def test_plain_text_leaves_out_markup():
    """Plain text keeps one line per block and drops the labels the renderer adds (collapse, note,
    course-team footnotes), so the tutor's prompt and question keys hold the authors' words only."""
    assert plain_text(render_markdown("# Title\n\nOne *two*.\n\n:::collapse\nThree\n:::\n")) == "Title\nOne two.\nThree"
    assert plain_text(render_markdown("A :note[aside] b.\n\n:::note\nBlock.\n:::\n")) == "A aside b.\nBlock."


def test_links_in_lens_text_resolve_to_lens_uuids(make_vault):
    """A card in a lens links to the lens it names by UUID; a link to no file is a warning, not a crash."""
    files = {
        "Lenses/A.md": "---\nid: 11111111-1111-4111-8111-111111111111\ntitle: Lens A\n---\n#### Text\n"
        "content::\n::card[[B]]\nand [[missing]]\n",
        "Lenses/B.md": "---\nid: 22222222-2222-4222-8222-222222222222\ntitle: Lens B\n---\n#### Text\ncontent:: b\n",
    }
    catalog = build_catalog(read_vault(make_vault(files)))
    html = catalog.items[uuid.UUID("11111111-1111-4111-8111-111111111111")].body["segments"][0]["html"]
    assert 'data-content-id="22222222-2222-4222-8222-222222222222"' in html and ">Lens B</a>" in html
    assert [str(d) for d in catalog.diagnostics] == [
        "Lenses/A.md:6: warning: link `[[missing]]`: link `missing` resolves to no file"
    ]


def test_a_link_to_an_article_leads_to_the_lens_that_excerpts_it(make_vault):
    """A wikilink or card to an article carries the UUID of the (published) lens excerpting it, marked as an
    article; an article no lens excerpts is text."""
    article = (
        "---\ntitle: On Scattering\nauthor: Ada\nsource_url: https://example.org/s\npublished: 2020-01-01\n---\nBody.\n"
    )
    files = {
        "articles/scattering.md": article,
        "articles/lonely.md": article.replace("On Scattering", "Lonely"),
        "Lenses/Reader.md": "---\nid: 11111111-1111-4111-8111-111111111111\ntitle: Reader\n---\n#### Text\n"
        "content::\n::card[[../articles/scattering]] and [[../articles/lonely]]\n",
        "Lenses/Excerpt.md": "---\nid: 22222222-2222-4222-8222-222222222222\ntitle: Excerpt\n---\n"
        "#### Article\nsource:: [[../articles/scattering]]\n",
    }
    catalog = build_catalog(read_vault(make_vault(files)))
    html = catalog.items[uuid.UUID("11111111-1111-4111-8111-111111111111")].body["segments"][0]["html"]
    assert (
        '<a class="content-card" data-content-id="22222222-2222-4222-8222-222222222222" data-target-kind="article"'
        ' href="#content-22222222-2222-4222-8222-222222222222" rel="noopener noreferrer">On Scattering</a>'
    ) in html
    assert '<span class="content-link unresolved">Lonely</span>' in html
