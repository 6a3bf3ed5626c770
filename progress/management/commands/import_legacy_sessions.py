"""`manage.py import_legacy_sessions`: bring the old platform's module sessions over (see README)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from progress.tooling.legacy import SourceError, UserMap, import_legacy_sessions, read_database, read_file


class Command(BaseCommand):
    help = (
        "Import the old platform's module_sessions rows: chat history into conversations about the module, "
        "completed sessions into module completions. Rows imported before are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--database-url", help="a PostgreSQL URL of the old database (reads module_sessions)")
        source.add_argument("--file", type=Path, help="a JSON or CSV export of module_sessions")
        parser.add_argument(
            "--user-map",
            help="`id` when legacy user ids are this site's account ids, or a CSV/JSON file mapping legacy user "
            "ids to usernames or emails",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="check and report what would be imported; write nothing"
        )

    def handle(
        self, *args, database_url: str | None, file: Path | None, user_map: str | None, dry_run: bool, **options
    ) -> None:
        try:
            rows = read_database(database_url) if database_url else read_file(file)
            report = import_legacy_sessions(rows=rows, user_map=UserMap.load(user_map), dry_run=dry_run)
        except SourceError as exc:
            raise CommandError(str(exc)) from exc
        if options["verbosity"] > 1 or dry_run:
            for line in report.details:
                self.stdout.write(line)
        for line in report.problem_lines():
            self.stderr.write(line)
        self.stdout.write(report.summary())
        if report.exit_code:
            raise CommandError(f"{len(report.problems)} row(s) skipped with problems", returncode=report.exit_code)
