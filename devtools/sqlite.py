"""The project on its embedded SQLite default (what `make run` uses), in a subprocess, for tests.

The test suite itself runs on PostgreSQL; these helpers start `manage.py` or a script with a fresh SQLite
file instead, so that a test can show a feature works on both databases.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def sqlite_env(folder: Path, **extra: str) -> dict[str, str]:
    """The environment `make run` gives the project (DEBUG on, no secret), with the database in `folder`."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY"}}
    return env | {
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "courseplatform.settings",
        **extra,
    }


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`python manage.py ARGS` in the project folder with `env`, its output captured."""
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def run_script(folder: Path, script: str) -> subprocess.CompletedProcess:
    """Migrate a fresh SQLite database in `folder`, then run `script` (Python calling django.setup()) on it.

    The script's own assertions are the test: the caller checks the exit status and what it printed.
    """
    env = sqlite_env(folder, ALLOWED_HOSTS="testserver")
    migrated = manage(env, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
