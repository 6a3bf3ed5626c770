"""`manage.py sync_content`: content_loader's command, plus git sources and a `ContentSync` of every sync.

sync_content [PATH]                 the folder (default CONTENT_DIR), or with CONTENT_GIT_URL set and
                                    no PATH, the newest commit of CONTENT_GIT_BRANCH
sync_content --git URL --ref REF    one commit of any repository, once
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from content_loader.management.commands import sync_content as base
from content_loader.report import SyncReport
from delivery import git
from delivery.services import GitSource, SyncFailed, check_git, configured_source, run_sync


class Command(base.Command):
    help = base.Command.help + " The vault may be a commit of a git repository (--git, or CONTENT_GIT_URL)."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--git", dest="git_url", metavar="URL", help="sync from this repository (https, ssh or file://) once"
        )
        parser.add_argument(
            "--ref", metavar="REF", help="the branch, tag or commit to sync (default: CONTENT_GIT_BRANCH, main)"
        )

    def handle(self, *args, git_url: str | None, ref: str | None, **options) -> None:
        if git_url and options["path"]:
            raise CommandError("give a PATH or --git URL, not both")
        if git_url:
            self.source = GitSource(remote=git_remote(git_url), ref=ref or settings.CONTENT_GIT_BRANCH)
        elif options["path"] is None:
            self.source = configured_source(ref)
        else:
            self.source = None
        if ref and self.source is None:
            raise CommandError("--ref needs --git URL (or CONTENT_GIT_URL set, and no PATH)")
        if self.source is not None and options["write_ids"]:
            raise CommandError("--write-ids edits the files: run it in your clone of the repository, then push")
        if self.source is not None:
            try:
                git.validate_url(self.source.remote.url)
                git.validate_ref(self.source.ref)
            except git.GitError as exc:
                raise CommandError(str(exc)) from exc
        super().handle(*args, **options)

    def sync(self, path: str | None, *, check: bool, dry_run: bool, write_ids: bool, progress) -> SyncReport:
        try:
            if check or dry_run:
                if self.source is None:
                    return super().sync(path, check=check, dry_run=dry_run, write_ids=write_ids, progress=progress)
                return check_git(self.source, check=check, dry_run=dry_run, progress=progress)
            record, report = run_sync(
                folder=path,
                source=self.source,
                trigger="manage.py sync_content",
                write_ids=write_ids,
                progress=progress,
            )
        except SyncFailed as exc:
            recorded = f" (recorded as content sync #{exc.sync.pk})" if exc.sync else ""
            raise CommandError(f"sync failed, nothing changed: {exc}{recorded}") from exc
        if record.commit_sha:
            self.stderr.write(f"Commit {record.commit_sha[:12]} by {record.commit_author}: {record.summary_line}")
        self.stderr.write(f"Recorded as content sync #{record.pk}: {record.get_status_display()}.")
        return report


def git_remote(url: str) -> git.Remote:
    """The repository of `--git URL`, with the configured credentials when it is the configured one."""
    same = url == settings.CONTENT_GIT_URL
    return git.Remote(
        url=url,
        token=settings.CONTENT_GIT_TOKEN if same else "",
        username=settings.CONTENT_GIT_USERNAME,
        ssh_key=settings.CONTENT_GIT_SSH_KEY,
    )
