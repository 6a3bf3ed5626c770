"""`manage.py progress_doctor [--fix]`: check progress against itself and the registry (see README)."""

import getpass

from django.core.management.base import BaseCommand, CommandError, CommandParser

from progress.tooling.doctor import run_doctor


class Command(BaseCommand):
    help = (
        "Report module and learning-outcome rows whose completion disagrees with their lenses, progress on "
        "replaced or unknown UUIDs, and implausible time; --fix repairs the first two in one audited transaction."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--fix", action="store_true", help="repair completion mismatches and merge replaced UUIDs (audited)"
        )

    def handle(self, *args, fix: bool, **options) -> None:
        report = run_doctor(fix=fix, actor_username=f"progress_doctor ({_os_user()})")
        for line in report.lines():
            self.stdout.write(line)
        if report.exit_code:
            raise CommandError(f"{len(report.remaining)} problem(s) remain", returncode=report.exit_code)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return "unknown user"
