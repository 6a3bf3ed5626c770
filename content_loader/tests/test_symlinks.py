"""A vault cannot reach outside itself: a file whose real path is outside is reported, never read or written."""

import os
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from content_loader.models import ContentItem
from content_loader.parsing import read_vault
from content_loader.tests.vaults import basic_vault, lens
from content_loader.write_ids import write_missing_ids

OUTSIDE_TEXT = "SECRET-OUTSIDE-LINE root:x:0:0"


@pytest.fixture
def outside(tmp_path):
    """A folder next to the vault holding a lens without an id and a plain text file."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "Secret.md").write_text(f"---\ntitle: Secret\n---\n\n#### Text\ncontent::\n{OUTSIDE_TEXT}\n")
    (folder / "passwd").write_text(OUTSIDE_TEXT + "\n")
    return folder


def linked_vault(make_vault, outside):
    files = basic_vault()
    files["modules/intro.md"] += "\n# Lens:\nsource:: [[../Lenses/Secret]]\n"
    vault = make_vault(files)
    os.symlink(outside / "Secret.md", vault / "Lenses/Secret.md")
    os.symlink(outside / "passwd", vault / "Lenses/Passwd.md")
    os.symlink(vault / "Lenses/A.md", vault / "Lenses/Alias.md")  # inside the vault: allowed
    os.symlink(outside, vault / "articles")  # a folder link: not entered
    return vault


def test_a_symlinked_file_outside_the_vault_is_reported_at_line_one_and_not_read(make_vault, outside):
    """Links to files outside the vault are an error at line 1 each; their text is in no document or report."""
    vault = read_vault(linked_vault(make_vault, outside))
    for path in ("Lenses/Secret.md", "Lenses/Passwd.md"):
        (problem,) = vault.reports[path].diagnostics
        assert (problem.line, problem.severity.value) == (1, "error")
        assert "outside the vault" in problem.message
        assert path not in vault.documents
    assert "Lenses/Alias.md" in vault.documents  # a link that stays inside is read like any file
    assert not any(path.startswith("articles/") for path in vault.reports)
    everything = repr([(d.path, d.message, d.suggestion) for d in vault.diagnostics])
    assert OUTSIDE_TEXT not in everything and OUTSIDE_TEXT not in repr(vault.documents)


@pytest.mark.django_db
def test_sync_publishes_nothing_from_outside_and_write_ids_writes_nothing_there(make_vault, outside):
    """`sync_content --write-ids` leaves the outside file's bytes as they were and syncs none of its text."""
    root = linked_vault(make_vault, outside)
    before = (outside / "Secret.md").read_bytes()
    assert all(w.path != "Lenses/Secret.md" for w in write_missing_ids(root, dry_run=True))
    with pytest.raises(CommandError) as failed:
        call_command("sync_content", str(root), "--write-ids", stdout=StringIO())
    assert failed.value.returncode == 1
    assert (outside / "Secret.md").read_bytes() == before
    assert not ContentItem.objects.filter(body__icontains="SECRET-OUTSIDE").exists()
    assert not ContentItem.objects.filter(title="Secret").exists()


def test_a_symlinked_timestamps_file_outside_is_not_read(make_vault, outside):
    """Every read of a vault file goes through the rule, the transcript's timestamps file included."""
    files = basic_vault()
    files["Lenses/T.md"] = lens("00000000-0000-4000-8000-0000000000aa")
    vault = make_vault(files)
    (vault / "video_transcripts").mkdir()
    (vault / "video_transcripts/Talk.md").write_text("---\ntitle: Talk\nurl: https://youtu.be/x\n---\nHello.\n")
    os.symlink(outside / "passwd", vault / "video_transcripts/Talk.timestamps.json")
    parsed = read_vault(vault)
    with pytest.raises(OSError, match="outside the vault"):
        parsed.read_text("video_transcripts/Talk.timestamps.json")
    (problem,) = parsed.reports["video_transcripts/Talk.timestamps.json"].diagnostics
    assert problem.line == 1 and "outside the vault" in problem.message
