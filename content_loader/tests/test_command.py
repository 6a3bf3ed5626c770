"""`manage.py sync_content`: its options, its report and its exit status."""

import json
import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from content_loader.models import ContentItem
from content_loader.tests.vaults import LENS_A, basic_vault, lens
from content_loader.write_ids import write_missing_ids


def run(*args: str) -> tuple[str, int]:
    out = StringIO()
    try:
        call_command("sync_content", *args, stdout=out)
    except CommandError as error:
        return out.getvalue(), error.returncode
    return out.getvalue(), 0


@pytest.mark.django_db
def test_sync_prints_problems_and_a_one_line_summary(make_vault):
    """The report lists problems as path:line and ends with a summary; exit status 0 without errors."""
    files = basic_vault()
    files["Lenses/A.md"] = lens(LENS_A) + "#### Text:\ncontent:: x\n"
    output, status = run(str(make_vault(files)))
    lines = output.strip().splitlines()
    assert status == 0
    assert lines[0] == "Lenses/A.md:8: warning: segment heading `#### Text:` takes no colon (write `#### Text`)"
    assert lines[-1].startswith("Synced ") and "8 added" in lines[-1]
    output, status = run(str(make_vault(files)))
    assert "0 changes" in output.strip().splitlines()[-1]


@pytest.mark.django_db
def test_errors_give_exit_status_one_after_syncing_the_valid_part(make_vault):
    """With an error the valid files are still synced, and the command exits 1."""
    files = basic_vault()
    files["Lenses/Z.md"] = "---\nid: 12\n---\n#### Text\ncontent:: x\n"
    output, status = run(str(make_vault(files)))
    assert status == 1
    assert "Lenses/Z.md:2: error:" in output
    assert ContentItem.objects.count() == 8


def test_check_validates_without_the_database(make_vault):
    """--check writes nothing (it does not even need the database) and exits 1 on errors."""
    files = basic_vault()
    output, status = run(str(make_vault(files)), "--check")
    assert status == 0 and output.strip().splitlines()[-1].startswith("Checked ")
    files["modules/intro.md"] += "# Nonsense:\n"
    output, status = run(str(make_vault(files)), "--check")
    assert status == 1 and "unknown section type `# Nonsense:`" in output


@pytest.mark.django_db
def test_dry_run_lists_changes_and_learner_impact(make_vault, progress_counter):
    """--dry-run prints what would be added and the learner impact, and writes nothing."""
    progress_counter(None)
    output, status = run(str(make_vault(basic_vault())), "--dry-run")
    assert status == 0
    assert "would be added (8):" in output
    assert "learner impact unknown (no progress app)" in output
    assert output.strip().splitlines()[-1].startswith("Would sync ")
    assert ContentItem.objects.count() == 0


@pytest.mark.django_db
def test_json_report(make_vault):
    """--format json prints the same report, machine-readable."""
    output, status = run(str(make_vault(basic_vault())), "--format", "json")
    report = json.loads(output)
    assert status == 0 and report["exit_code"] == 0
    assert len(report["added"]) == 8 and report["changes"] == 8
    assert report["items"] == {"course": 1, "lens": 4, "lo": 1, "module": 1, "test": 1}
    assert report["summary"].startswith("Synced ")


def test_missing_vault_is_a_command_error(tmp_path):
    """A path that is not a folder is a clear command error."""
    with pytest.raises(CommandError, match="is not a folder"):
        call_command("sync_content", str(tmp_path / "nope"), "--check")


NO_IDS = {
    # CRLF, no final newline, a title that YAML would mangle if rewritten: only one line may change.
    "Lenses/A.md": b"---\r\ntitle: 'Kept: as is'\r\n---\r\n#### Text\r\ncontent::  spaces  \r\n\r\n",
    "modules/m.md": b"---\nslug: m\ntitle: M\n---\n# Lens: Inline\n#### Text\ncontent:: hi\n\n"
    b"# Text: Old style\ncontent:: hello\n\n# Lens:\nsource:: [[../Lenses/A]]",
    "Learning Outcomes/O.md": b"---\nid:\n---\n## Test:\n#### Question\ncontent:: Why?",
    "courses/c.md": b"---\nslug: c\ntitle: C\n---\n# Module: [[../modules/m]]\n",
    "Lenses/N.md": b"#### Text\ncontent:: no frontmatter at all\n",
}


def test_write_ids_edits_only_the_id_lines_byte_for_byte(make_vault, tmp_path):
    """--write-ids adds one line per item lacking an id (or fills an empty `id:`); every other byte stays."""
    vault = tmp_path / "vault"
    for path, data in NO_IDS.items():
        (vault / path).parent.mkdir(parents=True, exist_ok=True)
        (vault / path).write_bytes(data)
    written = write_missing_ids(vault)
    assert sorted((w.path, w.line, w.what) for w in written) == [
        ("Learning Outcomes/O.md", 2, "learning outcome"),
        ("Learning Outcomes/O.md", 5, "test"),
        ("Lenses/A.md", 2, "lens"),
        ("Lenses/N.md", 2, "lens"),
        ("courses/c.md", 2, "course"),
        ("modules/m.md", 2, "module"),
        ("modules/m.md", 7, "lens"),
        ("modules/m.md", 12, "lens"),
    ]
    ids = {(w.path, w.line): str(w.id).encode() for w in written}
    a = (vault / "Lenses/A.md").read_bytes()
    assert (
        a
        == b"---\r\nid: "
        + ids[("Lenses/A.md", 2)]
        + b"\r\ntitle: 'Kept: as is'\r\n---\r\n#### Text\r\ncontent::  spaces  \r\n\r\n"
    )
    m = (vault / "modules/m.md").read_bytes()
    assert m == (
        b"---\nid: "
        + ids[("modules/m.md", 2)]
        + b"\nslug: m\ntitle: M\n---\n# Lens: Inline\nid:: "
        + ids[("modules/m.md", 7)]
        + b"\n#### Text\ncontent:: hi\n\n# Text: Old style\nid:: "
        + ids[("modules/m.md", 12)]
        + b"\ncontent:: hello\n\n# Lens:\nsource:: [[../Lenses/A]]"
    )
    o = (vault / "Learning Outcomes/O.md").read_bytes()
    assert (
        o
        == b"---\nid: "
        + ids[("Learning Outcomes/O.md", 2)]
        + b"\n---\n## Test:\nid:: "
        + ids[("Learning Outcomes/O.md", 5)]
        + b"\n#### Question\ncontent:: Why?"
    )
    c = (vault / "courses/c.md").read_bytes()
    assert c == b"---\nid: " + ids[("courses/c.md", 2)] + b"\nslug: c\ntitle: C\n---\n# Module: [[../modules/m]]\n"
    n = (vault / "Lenses/N.md").read_bytes()
    assert n == b"---\nid: " + ids[("Lenses/N.md", 2)] + b"\n---\n#### Text\ncontent:: no frontmatter at all\n"
    assert write_missing_ids(vault) == []  # nothing left to write
    assert all(uuid.UUID(value.decode()) for value in ids.values())


def test_write_ids_leaves_an_invalid_id_to_the_author(tmp_path):
    """A course, module or outcome whose `id` is written but not a UUID gets no second `id` line."""
    vault = tmp_path / "vault"
    files = {
        "courses/c.md": b"---\nid: 12\nslug: c\ntitle: C\n---\n# Module: [[../modules/m]]\n",
        "modules/m.md": b"---\nid: not-a-uuid\nslug: m\ntitle: M\n---\n",
        "Learning Outcomes/O.md": b"---\nid: 7\n---\n",
    }
    for path, data in files.items():
        (vault / path).parent.mkdir(parents=True, exist_ok=True)
        (vault / path).write_bytes(data)
    assert write_missing_ids(vault) == []
    assert {path: (vault / path).read_bytes() for path in files} == files


def test_write_ids_dry_run_lists_without_writing(tmp_path):
    """With --dry-run, --write-ids only lists what it would write."""
    vault = tmp_path / "vault"
    (vault / "Lenses").mkdir(parents=True)
    (vault / "Lenses/A.md").write_bytes(NO_IDS["Lenses/A.md"])
    assert [w.path for w in write_missing_ids(vault, dry_run=True)] == ["Lenses/A.md"]
    assert (vault / "Lenses/A.md").read_bytes() == NO_IDS["Lenses/A.md"]


@pytest.mark.django_db
def test_write_ids_then_sync(tmp_path):
    """`sync_content --write-ids` writes the ids, prints them, and syncs the vault that now has them."""
    vault = tmp_path / "vault"
    for path, data in NO_IDS.items():
        (vault / path).parent.mkdir(parents=True, exist_ok=True)
        (vault / path).write_bytes(data)
    output, status = run(str(vault), "--write-ids")
    assert output.count(": wrote id ") == 8
    assert status == 0, output
    assert ContentItem.objects.count() == 8


@pytest.mark.django_db
def test_progress_indicator_on_a_terminal(make_vault, monkeypatch, capsys):
    """On a terminal, progress goes to stderr (and is cleared); the report stays on stdout."""
    from content_loader.management.commands import sync_content as command

    monkeypatch.setattr(command.Command, "_on_terminal", lambda self: True)
    out = StringIO()
    call_command("sync_content", str(make_vault(basic_vault())), stdout=out)
    err = capsys.readouterr().err
    assert "reading 6/6" in err and "writing 6/6" in err
    assert "reading" not in out.getvalue()
