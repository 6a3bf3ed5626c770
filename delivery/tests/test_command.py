"""`sync_content` from git (configured, or `--git URL --ref REF`), and the ContentSync it records."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from content_loader.models import ContentItem
from delivery.models import ContentSync
from delivery.tests.repos import SLEEP_LENS_ID, git

pytestmark = pytest.mark.django_db


def test_the_first_sync_from_git_loads_the_branch_and_records_the_commit(git_settings, content_repo):
    """With CONTENT_GIT_URL set, `sync_content` fetches main and syncs it; the row names the commit."""
    head = git(content_repo.work, "rev-parse", "HEAD")
    call_command("sync_content")
    assert ContentItem.objects.get(id=SLEEP_LENS_ID).title == "Sleep and memory"
    sync = ContentSync.objects.get()
    assert sync.source == "git"
    assert sync.location == content_repo.url
    assert sync.ref == "main"
    assert sync.commit_sha == head
    assert sync.commit_author == "Ada Author <ada@example.org>"
    assert sync.commit_message == "Add the demo course"
    assert sync.commit_date is not None
    assert sync.status == "succeeded"
    assert sync.added == ContentItem.objects.count() > 0
    assert sync.finished_at >= sync.started_at
    assert sync.report["summary"].startswith("Synced")
    # the cache is one shallow working tree of exactly that commit
    cache = git_settings.CONTENT_GIT_CACHE_DIR
    assert git(cache, "rev-parse", "HEAD") == head
    assert (cache / ".git" / "shallow").exists()


def test_a_second_run_reuses_the_cache_and_syncs_the_new_commit(git_settings, content_repo):
    """The cache folder is reused: the next run fetches only the new commit and syncs the retitle."""
    call_command("sync_content")
    marker = git_settings.CONTENT_GIT_CACHE_DIR / ".git" / "kept"
    marker.write_text("the same cache")
    sha = content_repo.retitle_sleep_lens("Sleep, and what it keeps")
    call_command("sync_content")
    assert marker.exists()
    assert ContentItem.objects.get(id=SLEEP_LENS_ID).title == "Sleep, and what it keeps"
    latest = ContentSync.objects.latest()
    assert (latest.commit_sha, latest.changed, latest.added) == (sha, 1, 0)
    assert git(git_settings.CONTENT_GIT_CACHE_DIR, "rev-list", "--count", "HEAD") == "1"  # still shallow


def test_git_and_ref_sync_any_repository_and_ref_once(content_repo, settings, tmp_path):
    """`--git URL --ref REF` syncs that ref (here a tag of an older commit) without CONTENT_GIT_URL."""
    settings.CONTENT_GIT_URL = ""
    settings.CONTENT_GIT_CACHE_DIR = tmp_path / "cache"
    git(content_repo.work, "tag", "v1")
    git(content_repo.work, "push", "--quiet", "origin", "v1")
    content_repo.retitle_sleep_lens("Later title")
    call_command("sync_content", git_url=content_repo.url, ref="v1")
    assert ContentItem.objects.get(id=SLEEP_LENS_ID).title == "Sleep and memory"
    assert ContentSync.objects.get().ref == "v1"


def test_a_bad_ref_fails_changes_nothing_and_is_recorded(git_settings, content_repo):
    """A ref the repository lacks: exit status 1, the registry as it was, a FAILED row with the reason."""
    call_command("sync_content")
    before = list(ContentItem.objects.order_by("id").values_list("id", "title", "checksum", "retired_at"))
    with pytest.raises(CommandError) as raised:
        call_command("sync_content", ref="no-such-branch")
    assert raised.value.returncode == 1
    assert "no branch, tag or commit 'no-such-branch'" in str(raised.value)
    assert list(ContentItem.objects.order_by("id").values_list("id", "title", "checksum", "retired_at")) == before
    failed = ContentSync.objects.latest()
    assert failed.status == "failed"
    assert "no-such-branch" in failed.failure
    assert failed.finished_at is not None


def test_an_unreachable_repository_fails_and_is_recorded(settings, tmp_path):
    """A repository that is not there: exit 1 with git's reason, a FAILED row, nothing synced."""
    settings.CONTENT_GIT_CACHE_DIR = tmp_path / "cache"
    with pytest.raises(CommandError, match="could not fetch"):
        call_command("sync_content", git_url=f"file://{tmp_path}/missing.git")
    assert ContentSync.objects.get().status == "failed"
    assert not ContentItem.objects.exists()


def test_a_uuid_used_twice_fails_the_sync_and_writes_nothing(git_settings, content_repo):
    """A pushed commit that reuses a UUID blocks the sync: exit 1, registry unchanged, the row FAILED."""
    call_command("sync_content")
    twin = (content_repo.work / "Lenses/Sleep and memory.md").read_text().replace("Sleep and memory", "Twin")
    content_repo.commit("Copy a lens with its id", {"Lenses/Twin.md": twin})
    content_repo.retitle_sleep_lens("Should not appear")
    with pytest.raises(CommandError):
        call_command("sync_content")
    assert ContentItem.objects.get(id=SLEEP_LENS_ID).title == "Sleep and memory"
    failed = ContentSync.objects.latest()
    assert failed.status == "failed"
    assert "UUID" in failed.failure
    assert any(d["severity"] == "error" for d in failed.report["diagnostics"])


def test_a_folder_sync_is_recorded_too(tmp_path):
    """`sync_content PATH` records a ContentSync of source "folder" with counts and the full report."""
    call_command("sync_content", "content")
    sync = ContentSync.objects.get()
    assert (sync.source, sync.location, sync.status) == ("folder", "content", "succeeded")
    assert sync.added > 0 and sync.report["diagnostics"] is not None


def test_check_and_dry_run_of_a_git_ref_record_nothing(git_settings, content_repo, capsys):
    """`--check` of the configured branch fetches into a temporary folder, syncs nothing, records nothing."""
    call_command("sync_content", check=True)
    assert "Checked" in capsys.readouterr().out
    assert not ContentSync.objects.exists()
    assert not ContentItem.objects.exists()


def test_symbolic_links_in_the_repository_are_not_followed(git_settings, content_repo):
    """A committed symlink to a file outside the vault is checked out as a plain file: nothing leaks."""
    secret = content_repo.work.parent / "secret.md"
    secret.write_text("---\ntitle: SECRET\n---\n")
    (content_repo.work / "Lenses" / "Leak.md").symlink_to(secret)
    content_repo.commit("Add a symlink")
    with pytest.raises(CommandError, match="error"):  # the link's text is not a lens: an error in that file
        call_command("sync_content")
    leaked = git_settings.CONTENT_GIT_CACHE_DIR / "Lenses" / "Leak.md"
    assert not leaked.is_symlink()
    assert "SECRET" not in leaked.read_text()
    assert not ContentItem.objects.filter(title="SECRET").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"git_url": "ext::sh -c touch% /tmp/pwned"}, "is not https://"),
        ({"git_url": "http://example.org/repo.git"}, "is not https://"),
        ({"ref": "--upload-pack=evil"}, "not a valid branch"),
        ({"path": "content", "git_url": "file:///x"}, "not both"),
        ({"path": "content", "ref": "main"}, "--ref needs --git"),
        ({"git_url": "file:///x", "write_ids": True}, "--write-ids edits the files"),
    ],
)
def test_bad_options_are_refused_with_a_clear_error(settings, options, message):
    """Unsafe URLs, option-like refs and contradictory options: a CommandError saying what to do."""
    settings.CONTENT_GIT_URL = "file:///nowhere"
    with pytest.raises(CommandError, match=message):
        call_command("sync_content", **options)
    assert not ContentSync.objects.exists()


def test_the_token_never_appears_in_the_record(settings, tmp_path):
    """A token (and a URL's password) given for a failing fetch is in neither the failure nor the location."""
    settings.CONTENT_GIT_CACHE_DIR = tmp_path / "cache"
    settings.CONTENT_GIT_URL = "https://user:hunter2-password@127.0.0.1:9/repo.git"
    settings.CONTENT_GIT_TOKEN = "ghp_tokentokentoken"
    with pytest.raises(CommandError) as raised:
        call_command("sync_content")
    sync = ContentSync.objects.get()
    for text in (str(raised.value), sync.failure, sync.location, str(sync.report)):
        assert "hunter2" not in text
        assert "ghp_tokentokentoken" not in text
    assert sync.location == "https://127.0.0.1:9/repo.git"
