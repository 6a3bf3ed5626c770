"""Starting `manage.py worker` in another process, on the test database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The URL of the test database this test session created (PostgreSQL)."""
    s = connection.settings_dict
    return f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


def worker_env(**extra: str) -> dict[str, str]:
    """A worker's environment: the test database, and a short heartbeat and lease so tests are quick."""
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "JOBS_HEARTBEAT_SECONDS": "0.3",
        "JOBS_LEASE_SECONDS": "2",
        **extra,
    }


def start_worker(*args: str, env: dict[str, str] | None = None, log: Path | None = None) -> subprocess.Popen:
    """`manage.py worker --no-reload ARGS` in a new process (stop it by its pid)."""
    out = log.open("ab") if log else subprocess.DEVNULL
    return subprocess.Popen(
        [sys.executable, "manage.py", "worker", "--no-reload", "--no-startup-delay", "--interval", "0.1", *args],
        cwd=ROOT,
        env=env or worker_env(),
        stdout=out,
        stderr=subprocess.STDOUT,
    )


def wait_for(condition: Callable[[], object], *, timeout: float = 30, what: str = "condition") -> object:
    """Poll `condition` until it returns something true; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def stop(process: subprocess.Popen) -> None:
    """Stop a worker started by `start_worker` (SIGTERM, then SIGKILL), by its pid."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
