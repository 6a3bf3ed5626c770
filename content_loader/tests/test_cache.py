"""The vault cache: a resync reuses each unchanged file's parse and each unchanged lens's body, recomputes
what depends on a changed file, and still reports every problem on every run."""

from pathlib import Path

import pytest

from content_loader.models import ContentItem
from content_loader.parsing import payloads, vault
from content_loader.sync import sync_content
from content_loader.tests.vaults import LENS_A, LENS_B, basic_vault, lens

pytestmark = pytest.mark.django_db
ARTICLE = "---\ntitle: An article\nauthor: Someone\nsource_url: https://example.org/a\npublished: 2024-01-02\n---\n"


@pytest.fixture
def work(monkeypatch):
    """Which files are parsed and which lenses compiled during a run: {"parsed": [...], "compiled": [...]}."""
    seen: dict[str, list] = {"parsed": [], "compiled": []}
    parse, compile_lens = vault._parse, payloads.LensCompiler.compile

    def counting_parse(kind, path, text, paths):
        seen["parsed"].append(path)
        return parse(kind, path, text, paths)

    def counting_compile(self, lens_doc, doc):
        seen["compiled"].append(lens_doc.path)
        return compile_lens(self, lens_doc, doc)

    monkeypatch.setattr(vault, "_parse", counting_parse)
    monkeypatch.setattr(payloads.LensCompiler, "compile", counting_compile)

    def reset() -> dict[str, list]:
        seen["parsed"].clear()
        seen["compiled"].clear()
        return seen

    return reset


def with_lens_a(text: str) -> dict[str, str]:
    files = basic_vault()
    files["Lenses/A.md"] = lens(LENS_A, text, title="Lens A")
    return files


def test_a_noop_resync_parses_nothing_and_reports_every_problem_again(make_vault, work):
    """With nothing changed, no file is parsed or compiled again, and the same problems are reported."""
    vault_path = make_vault(with_lens_a("Text.\n\n#### Txet\ncontent:: typo\n"))
    first = sync_content(vault_path)
    seen = work()
    second = sync_content(vault_path)
    assert seen == {"parsed": [], "compiled": []}
    assert [str(d) for d in second.diagnostics] == [str(d) for d in first.diagnostics]
    assert any("Txet" in str(d) for d in second.diagnostics)
    assert second.changes == 0


def test_a_one_file_edit_reparses_that_file_and_recompiles_only_what_depends_on_it(make_vault, work):
    """Editing one lens reparses and recompiles that lens only; its new text is synced."""
    files = with_lens_a("Old text.")
    vault_path = make_vault(files)
    sync_content(vault_path)
    make_vault({"Lenses/A.md": lens(LENS_A, "New text.", title="Lens A")}, vault_path)
    seen = work()
    report = sync_content(vault_path)
    assert seen == {"parsed": ["Lenses/A.md"], "compiled": ["Lenses/A.md"]}
    assert [str(change.id) for change in report.changed] == [LENS_A]
    assert ContentItem.objects.get(id=LENS_A).body["segments"][0]["html"] == "<p>New text.</p>"


def test_an_edited_article_recompiles_the_lens_that_excerpts_it(make_vault, work):
    """A lens's body is compiled again when the article it excerpts changes, though its own file did not."""
    files = basic_vault()
    files["articles/a.md"] = ARTICLE + "First words here.\n"
    files["Lenses/A.md"] = (
        f'---\nid: {LENS_A}\ntitle: Lens A\n---\n\n#### Article\nsource:: [[../articles/a]]\nfrom:: "First"\n'
    )
    vault_path = make_vault(files)
    sync_content(vault_path)
    make_vault({"articles/a.md": ARTICLE + "First words, revised.\n"}, vault_path)
    seen = work()
    report = sync_content(vault_path)
    assert seen == {"parsed": ["articles/a.md"], "compiled": ["Lenses/A.md"]}
    assert [str(change.id) for change in report.changed] == [LENS_A]
    assert "revised" in ContentItem.objects.get(id=LENS_A).body["segments"][0]["excerpt_html"]


def test_a_retitled_link_target_recompiles_the_lens_that_links_to_it(make_vault, work):
    """A `[[link]]` shows its target's title: retitling the target compiles the linking lens again."""
    vault_path = make_vault(with_lens_a("See [[B]]."))
    sync_content(vault_path)
    make_vault({"Lenses/B.md": lens(LENS_B, "Lens B text.", title="Renamed B")}, vault_path)
    seen = work()
    sync_content(vault_path)
    assert sorted(seen["compiled"]) == ["Lenses/A.md", "Lenses/B.md"]
    assert "Renamed B" in ContentItem.objects.get(id=LENS_A).body["segments"][0]["html"]


def test_a_file_that_comes_into_existence_is_seen_by_the_links_that_wanted_it(make_vault, work):
    """A link to a missing lens is a warning; once the lens exists, the cached lens is compiled again."""
    files = with_lens_a("See [[D]].")
    vault_path = make_vault(files)
    first = sync_content(vault_path)
    assert any("[[D]]" in d.message for d in first.diagnostics)
    make_vault({"Lenses/D.md": lens("00000000-0000-4000-8000-0000000000dd", title="Lens D")}, vault_path)
    work()
    second = sync_content(vault_path)
    assert not any("[[D]]" in d.message for d in second.diagnostics)


def test_an_unreadable_cache_is_ignored(make_vault, settings):
    """A cache file that is not a cache (damaged, truncated) costs a cold sync, never a failure."""
    vault_path = make_vault(basic_vault())
    cache_dir = Path(settings.CONTENT_CACHE_DIR)
    sync_content(vault_path)
    for cache_file in cache_dir.glob("*.sqlite3"):
        cache_file.write_bytes(b"not a database" * 100)
    report = sync_content(vault_path)
    assert report.exit_code == 0 and report.changes == 0
