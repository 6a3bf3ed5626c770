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
    """`:::collapse` is a <details>; inline collapse, notes and Lens footnotes are inline elements."""
    html = render_markdown(
        "Text :collapse[hidden :note[inner]] and :footnote[a note].\n::note[own line]\n\n"
        ":::collapse\nFolded paragraph.\n:::\n\n:::note\nA note block.\n:::\n\nRef[^1].\n\n[^1]: Author note.\n"
    )
    assert '<span class="collapse">hidden <span class="note">inner</span></span>' in html
    assert '<small class="lens-footnote">a note</small>' in html
    assert '<span class="note">own line</span>' in html
    assert '<details class="collapse"><summary>…</summary>\n<p>Folded paragraph.</p>\n</details>' in html
    assert '<aside class="note">\n<p>A note block.</p>\n</aside>' in html
    assert 'class="footnotes"' in html and "Author note." in html


def test_wikilinks_and_cards():
    """Wikilinks to content items become links by UUID; unknown targets become plain text."""
    target = LinkTarget("abc", "The lens")
    html = render_markdown(
        "See [[../Lenses/X|this]], ![[../Lenses/X]] and [[nowhere]].\n\n::card[[../Lenses/X]]",
        resolve_link=lambda t: target if "X" in t else None,
    )
    assert '<a class="content-link" data-content-id="abc" href="#content-abc"' in html
    assert ">this</a>" in html and ">The lens</a>" in html
    assert '<span class="content-link unresolved">nowhere</span>' in html
    assert '<a class="content-card" data-content-id="abc"' in html


def test_wikipedia_style_citations_are_links_not_wikilinks():
    """`[[1]](url)` is a Markdown link whose text is "[1]"."""
    html = render_markdown("Claim.<sup>[[1]](https://example.org/ref)</sup>")
    assert '<a href="https://example.org/ref" rel="noopener noreferrer">[1]</a>' in html


def test_plain_text_leaves_out_markup():
    """Plain text keeps one line per block and drops the collapse marker."""
    assert plain_text(render_markdown("# Title\n\nOne *two*.\n\n:::collapse\nThree\n:::\n")) == "Title\nOne two.\nThree"


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
