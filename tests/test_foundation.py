"""The project's foundations: settings from the environment, and the database tests run on."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def run_settings(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DATABASE_URL"}}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)",
        ],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "courseplatform.settings", **env},
        capture_output=True,
        text=True,
    )


def test_refuses_to_start_without_secret_key_when_not_debugging():
    """With DEBUG off and no SECRET_KEY, settings refuse to load and say what to set."""
    result = run_settings({"DEBUG": "false"})
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_has_a_development_secret_key():
    """With DEBUG on, the development key lets the project start without configuration."""
    result = run_settings({"DEBUG": "true"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_bad_boolean_is_a_clear_error():
    """DEBUG=maybe is refused with a message naming the variable."""
    result = run_settings({"DEBUG": "maybe", "SECRET_KEY": "x"})
    assert result.returncode != 0
    assert "DEBUG must be true or false" in result.stderr


@pytest.mark.django_db
def test_tests_run_on_postgresql():
    """The suite runs on PostgreSQL (a throwaway cluster unless DATABASE_URL says otherwise)."""
    assert connection.vendor == "postgresql"
