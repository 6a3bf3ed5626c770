"""`manage.py sync_content [PATH]`: load the content vault into the registry (see README, "Content")."""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from content_loader.report import SyncReport
from content_loader.sync import sync_content


class Command(BaseCommand):
    help = "Validate the content vault and sync it into the content registry."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", help="the vault to read (default: settings.CONTENT_DIR)")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--check", action="store_true", help="validate only; write nothing; exit 1 on errors")
        mode.add_argument(
            "--dry-run", action="store_true", help="show what would be added, changed and retired, and who it affects"
        )
        parser.add_argument(
            "--write-ids", action="store_true", help="first give a UUID to every item that lacks one, in its file"
        )
        parser.add_argument("--format", choices=["text", "json"], default="text", help="report format")

    def handle(self, *args, path: str | None, check: bool, dry_run: bool, write_ids: bool, **options) -> None:
        as_json = options["format"] == "json"
        try:
            report = self.sync(
                path,
                check=check,
                dry_run=dry_run,
                write_ids=write_ids,
                progress=self._progress if self._on_terminal() else None,
            )
        except FileNotFoundError as exc:
            raise CommandError(str(exc)) from exc
        self._clear_progress()
        if as_json:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            for line in report.lines(verbose=options["verbosity"] > 1):
                self.stdout.write(line)
        if report.exit_code:
            raise CommandError(f"{report.errors} error(s) reported" if report.errors else report.blocked, returncode=1)

    def sync(self, path: str | None, **options) -> SyncReport:
        """The sync itself. `delivery` overrides this command: git sources, and a record of every sync."""
        return sync_content(path, **options)

    def _on_terminal(self) -> bool:
        return sys.stderr.isatty()

    def _progress(self, phase: str, done: int, total: int) -> None:
        if done == total or done % 25 == 0:
            sys.stderr.write(f"\r{phase} {done}/{total} ")
            sys.stderr.flush()
            self._shown = True

    def _clear_progress(self) -> None:
        if getattr(self, "_shown", False):
            sys.stderr.write("\r" + " " * 40 + "\r")
            sys.stderr.flush()
