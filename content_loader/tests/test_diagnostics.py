"""Every problem is reported as `path:line: severity: message (suggestion)`, and a broken file is skipped."""

from content_loader.parsing import build_catalog, read_vault
from content_loader.sync import sync_content
from content_loader.tests.vaults import LENS_A, LENS_B, MODULE_ID, article, basic_vault, lens, module

L1 = "11111111-1111-4111-8111-111111111111"


def report(make_vault, files: dict[str, str]) -> list[str]:
    catalog = build_catalog(read_vault(make_vault(files)))
    return [str(d) for d in catalog.diagnostics if d.severity != "info"]


def one_lens(body: str) -> dict[str, str]:
    return {"Lenses/L.md": f"---\nid: {L1}\n---\n{body}"}


def test_missing_required_field(make_vault):
    """A segment without its required field is an error at the segment heading."""
    assert report(make_vault, one_lens("#### Chat\nhidePreviousContentFromUser:: true\n")) == [
        "Lenses/L.md:4: error: a Chat segment is missing required field `instructions::`"
    ]


def test_unknown_segment_type_lists_valid_ones(make_vault):
    """`#### Embed` is reported (never dropped silently), with the valid segment types."""
    assert report(make_vault, one_lens("#### Text\ncontent:: hi\n#### Embed\nurl:: https://x\n")) == [
        "Lenses/L.md:6: error: unknown segment type `#### Embed` in a lens (valid segments here: `#### Article`, "
        "`#### Chat`, `#### Question`, `#### Roleplay`, `#### Text` or `#### Video`)"
    ]


def test_page_heading_and_text_with_colon(make_vault):
    """`#### Page:` is an unknown segment; `#### Text:` is read as Text with a warning."""
    assert report(make_vault, one_lens("#### Page: Intro\n\n#### Text:\ncontent:: hi\n")) == [
        "Lenses/L.md:4: error: unknown segment type `#### Page: Intro` in a lens (valid segments here: "
        "`#### Article`, `#### Chat`, `#### Question`, `#### Roleplay`, `#### Text` or `#### Video`)",
        "Lenses/L.md:6: warning: segment heading `#### Text:` takes no colon (write `#### Text`)",
    ]


def test_unknown_section_type_lists_valid_ones(make_vault):
    """`# Text Page` in a module is an unknown section type."""
    files = {"modules/m.md": module("# Text Page\ncontent::\nHello\n")}
    assert report(make_vault, files) == [
        "modules/m.md:7: error: unknown section type `# Text Page` in a module (valid sections: `# Lens:`, "
        "`# Learning Outcome:`, `# Submodule:`, `# Video:`, `# Article:`, `# Text:` or `# Chat:`)"
    ]


def test_text_outside_any_field(make_vault):
    """Text between a segment heading and its first field is an error."""
    assert report(make_vault, one_lens("#### Text\nHello there\ncontent:: hi\n")) == [
        "Lenses/L.md:5: error: text outside any field in a Text segment: `Hello there` "
        "(start it with a field such as `content` or `optional`)"
    ]


def test_field_written_with_one_colon(make_vault):
    """`content:` with one colon gets "did you mean `content::`?"."""
    assert report(make_vault, one_lens("#### Text\ncontent: Hello\n")) == [
        "Lenses/L.md:4: error: a Text segment is missing required field `content::`",
        "Lenses/L.md:5: error: text outside any field in a Text segment: `content: Hello` (did you mean `content::`?)",
    ]


def test_misspelt_field_name(make_vault):
    """A field one or two letters off a known one is a warning (the file loads, the field is ignored), with the
    right name suggested."""
    assert report(make_vault, one_lens("#### Text\ncontent:: hi\noptinal:: true\n")) == [
        "Lenses/L.md:6: warning: unknown field `optinal::` in a Text segment is ignored (did you mean `optional::`?)"
    ]


def test_field_on_the_wrong_segment_type(make_vault):
    """`instructions::` under `#### Text` names the segment type it belongs to."""
    assert report(make_vault, one_lens("#### Text\ncontent:: hi\ninstructions:: chat\n")) == [
        "Lenses/L.md:6: error: field `instructions::` does not belong in a Text segment; it is a field of "
        "Chat segments (fields here: `content` or `optional`)"
    ]


def test_unknown_field_is_a_warning(make_vault):
    """An unknown field far from any known one (`user-customizable::`) is reported and ignored."""
    body = f"#### Roleplay\nid:: {LENS_B}\ncontent:: You are X.\nai-instructions:: Be Y.\nuser-customizable:: true\n"
    assert report(make_vault, one_lens(body)) == [
        "Lenses/L.md:8: warning: unknown field `user-customizable::` in a Roleplay segment is ignored (fields "
        "here: `id`, `content`, `ai-instructions`, `opening-message`, `assessment-instructions`, `feedback` or "
        "`optional`)"
    ]


def test_reference_to_no_file_suggests_the_right_path(make_vault):
    """A link that resolves to no file is an error; a file of that name elsewhere is suggested."""
    files = {"modules/m.md": module("# Lens:\nsource:: [[Lenses/A]]\n"), "Lenses/A.md": lens(LENS_A)}
    assert report(make_vault, files) == [
        "modules/m.md:8: error: reference link `Lenses/A` resolves to no file (did you mean `../Lenses/A`?)"
    ]


def test_link_out_of_the_vault_is_rejected(make_vault):
    """A path that climbs out of the vault is rejected."""
    files = {"modules/m.md": module("# Lens:\nsource:: [[../../Lenses/A]]\n")}
    assert report(make_vault, files) == [
        "modules/m.md:8: error: reference link `../../Lenses/A` points outside the vault"
    ]


def test_duplicate_uuid_names_both_places_and_blocks_the_sync(make_vault):
    """The same UUID in two files is an error at each, naming the other; the catalog is blocked."""
    files = {"Lenses/A.md": lens(LENS_A), "Lenses/B.md": lens(LENS_A)}
    catalog = build_catalog(read_vault(make_vault(files)))
    assert catalog.blocked
    assert [str(d) for d in catalog.diagnostics if d.severity == "error"] == [
        f"Lenses/A.md:1: error: duplicate UUID {LENS_A} (lens) is also used at Lenses/B.md:1 (give one of them "
        "a fresh UUID; no changes are synced until this is fixed)",
        f"Lenses/B.md:1: error: duplicate UUID {LENS_A} (lens) is also used at Lenses/A.md:1 (give one of them "
        "a fresh UUID; no changes are synced until this is fixed)",
    ]


def test_published_content_referencing_a_draft_is_an_error(make_vault):
    """A published module placing a lens tagged `wip` is an error and is not loaded; the draft loads as a draft."""
    files = {
        "modules/m.md": module("# Lens:\nsource:: [[../Lenses/A]]\n"),
        "Lenses/A.md": lens(LENS_A, extra="tags:\n  - wip\n"),
    }
    catalog = build_catalog(read_vault(make_vault(files)))
    assert [str(d) for d in catalog.diagnostics if d.severity == "error"] == [
        "modules/m.md:8: error: published content references a draft: Lenses/A.md is tagged work-in-progress "
        "(publish it (remove the `wip`/`work-in-progress` tag) or tag this file as a draft too)"
    ]
    assert [(str(record.id), record.is_draft) for record in catalog.items.values()] == [(LENS_A, True)]
    assert catalog.held_back == {"modules/m.md"}


def test_a_published_link_in_text_to_a_draft_is_an_error(make_vault):
    """A `[[...]]` link in a published lens's text to a draft is an error at that line (not a dead link)."""
    files = {
        "Lenses/A.md": lens(LENS_A, "See [[B]] first."),
        "Lenses/B.md": lens(LENS_B, extra="tags: [wip]\n"),
    }
    catalog = build_catalog(read_vault(make_vault(files)))
    [error] = [d for d in catalog.diagnostics if d.severity == "error"]
    assert (error.path, error.line, error.draft) == ("Lenses/A.md", 6, False)
    assert "references a draft: link `[[B]]` points at Lenses/B.md" in error.message
    assert [(str(r.id), r.is_draft) for r in catalog.items.values()] == [(LENS_B, True)]


def test_problems_in_drafts_are_reported_in_full_and_marked_as_draft_findings(make_vault):
    """A draft's problems keep their severity, are marked `[draft]`, and do not count as published errors."""
    files = {"Lenses/A.md": lens(LENS_A, extra="tags: work-in-progress\n") + "#### Embed\n"}
    vault = make_vault(files)
    assert report(make_vault, files)[0].startswith("Lenses/A.md:9: error: [draft] unknown segment type `#### Embed`")
    result = sync_content(vault, check=True)
    assert (result.errors, result.draft_errors, result.exit_code) == (0, 1, 0)
    assert result.as_dict()["diagnostics"][0]["draft"] is True
    assert "in drafts 1 error(s)" in result.summary()
    assert result.counts["drafts"] == 1 and result.as_dict()["counts"]["drafts"] == 1


def test_validator_ignore_files_are_skipped_and_said_so(make_vault):
    """A `validator-ignore` file is skipped with an info note covering the whole file; nothing is loaded."""
    files = {"Lenses/A.md": lens(LENS_A, extra="tags: [validator-ignore]\n") + "#### Embed\nurl:: x\n"}
    catalog = build_catalog(read_vault(make_vault(files)))
    [note] = catalog.diagnostics
    assert str(note) == "Lenses/A.md:1: info: skipped: tagged `validator-ignore`"
    assert note.covers(9)
    assert catalog.items == {} and catalog.ignored == ["Lenses/A.md"]


def test_hide_without_optional(make_vault):
    """`hide:: true` without `optional:: true` is an error."""
    files = {"modules/m.md": module("# Lens:\nhide:: true\nsource:: [[../Lenses/A]]\n"), "Lenses/A.md": lens(LENS_A)}
    assert report(make_vault, files) == [
        "modules/m.md:8: error: `hide:: true` requires `optional:: true` (add `optional:: true`)"
    ]


def test_id_that_yaml_reads_as_a_number(make_vault):
    """An `id` YAML reads as something other than text is an error."""
    files = {"Lenses/A.md": "---\nid: 12345\n---\n#### Text\ncontent:: hi\n"}
    assert report(make_vault, files) == [
        "Lenses/A.md:2: error: frontmatter `id` must be a UUID written as text, but YAML reads 12345 as int (quote it)"
    ]


def test_broken_file_is_skipped_and_the_rest_loads(make_vault):
    """A lens with an error is not loaded; the module placing it is held back too; others load."""
    files = basic_vault()
    files["Lenses/A.md"] = lens(LENS_A) + "#### Embed\n"
    catalog = build_catalog(read_vault(make_vault(files)))
    errors = [str(d) for d in catalog.diagnostics if d.severity == "error"]
    assert errors == [
        "Lenses/A.md:8: error: unknown segment type `#### Embed` in a lens (valid segments here: `#### Article`, "
        "`#### Chat`, `#### Question`, `#### Roleplay`, `#### Text` or `#### Video`)",
        "courses/course.md:7: error: not loaded because modules/intro.md has errors (fix modules/intro.md first)",
        "modules/intro.md:15: error: not loaded because Lenses/A.md has errors (fix Lenses/A.md first)",
    ]
    assert catalog.held_back == {"Lenses/A.md", "modules/intro.md", "courses/course.md"}
    assert {str(i) for i in catalog.items} >= {LENS_B}
    assert MODULE_ID not in {str(i) for i in catalog.items}


def test_article_anchor_not_found(make_vault):
    """An excerpt anchor that is not in the article is an error at its line, naming the article."""
    files = {
        "articles/a.md": article("The quick brown fox.\n", title="A"),
        "Lenses/L.md": f'---\nid: {L1}\n---\n#### Article\nsource:: [[../articles/a]]\nfrom:: "slow green"\n',
    }
    assert report(make_vault, files) == [
        "Lenses/L.md:6: error: `from::` text not found in articles/a.md: 'slow green' (copy the words exactly "
        "from the article (straight and curly quotes both match))"
    ]


def test_heading_inside_a_lens_file_that_belongs_in_a_module(make_vault):
    """`# Lens:` sections in a lens file are reported as ignored, covering their fields."""
    files = one_lens("#### Text\ncontent:: hi\n# Lens: Other\noptional:: true\nsource:: [[X]]\n")
    catalog = build_catalog(read_vault(make_vault(files)))
    [warning] = [d for d in catalog.diagnostics if d.severity != "info"]
    assert str(warning).startswith("Lenses/L.md:6: warning: `# Lens: Other` is ignored")
    assert warning.covers(7) and warning.covers(8)


def test_inline_lens_without_id(make_vault):
    """An inline `# Lens:` needs `id::`; the message suggests --write-ids."""
    files = {"modules/m.md": module("# Lens: Hi\n#### Text\ncontent:: hi\n")}
    assert report(make_vault, files) == [
        "modules/m.md:7: error: inline `# Lens:` is missing required field `id::` "
        "(run `manage.py sync_content --write-ids`)"
    ]


def test_content_outside_submodules(make_vault):
    """Once a module has a submodule, lenses before the first one are an error."""
    files = {
        "modules/m.md": module(
            "# Lens:\nsource:: [[../Lenses/A]]\n# Submodule: Part\n## Lens:\nsource:: [[../Lenses/A]]\n"
        ),
        "Lenses/A.md": lens(LENS_A),
    }
    assert report(make_vault, files) == [
        "modules/m.md:7: error: this module has submodules, so all its lenses and learning outcomes must be "
        "inside one (start the file with a `# Submodule:` heading)"
    ]


def test_an_old_uuid_is_replaced_by_one_item_only(make_vault):
    """Two files claiming to replace the same old UUID is an error at the second."""
    old = "99999999-9999-4999-8999-999999999999"
    files = {
        "Lenses/A.md": lens(LENS_A, extra=f"replaces: [{old}]\n"),
        "Lenses/B.md": lens(LENS_B, extra=f"replaces: [{old}]\n"),
    }
    assert report(make_vault, files) == [
        f"Lenses/B.md:1: error: `replaces:` lists {old}, which Lenses/A.md replaces already"
    ]
