"""A production application server on a free loopback port, for tests and benchmarks.

It is gunicorn with the repository's `gunicorn.conf.py`, DEBUG off and the given database; its output
(gunicorn's messages and the application's JSON logs) goes to a file that `output()` reads.
"""

from __future__ import annotations

import http.client
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from devtools.pgcluster import free_port

ROOT = Path(__file__).resolve().parent.parent
# Variables of the caller's environment that must not leak into the server's configuration.
CLEARED = ("DATABASE_URL", "DEBUG", "SECRET_KEY", "BIND", "PORT", "DJANGO_SETTINGS_MODULE")


class AppServer:
    """Start with `start()` (or use as a context manager); `url` is then its base URL."""

    def __init__(
        self,
        *,
        database_url: str,
        app: str = "courseplatform.wsgi:application",
        workers: int = 1,
        threads: int = 2,
        worker_class: str = "gthread",
        worker_connections: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.database_url = database_url
        self.app = app
        self.workers = workers
        self.threads = threads
        self.worker_class = worker_class
        self.worker_connections = worker_connections
        self.extra_env = env or {}
        self.port: int | None = None
        self.process: subprocess.Popen | None = None
        self.log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if k not in CLEARED}
        return {
            **base,
            "DJANGO_SETTINGS_MODULE": "courseplatform.settings",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "STATICFILES_MANIFEST": "false",
            "DATABASE_URL": self.database_url,
            # Through gunicorn.conf.py, as production sets them.
            "WEB_CONCURRENCY": str(self.workers),
            "GUNICORN_THREADS": str(self.threads),
            "GUNICORN_WORKER_CLASS": self.worker_class,
            **({"GUNICORN_WORKER_CONNECTIONS": str(self.worker_connections)} if self.worker_connections else {}),
            **self.extra_env,
        }

    def start(self, timeout: float = 30) -> AppServer:
        self.port = free_port()
        handle, name = tempfile.mkstemp(prefix="courseplatform-server-", suffix=".log")
        self.log_path = Path(name)
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            str(ROOT / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{self.port}",
            self.app,
        ]
        with os.fdopen(handle, "wb") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.environment(), stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                output = self.output()
                self.stop()
                raise RuntimeError(f"The application server did not start:\n{output}")
            time.sleep(0.1)
        return self

    def _answers(self) -> bool:
        """True once the server answers HTTP at all (even a 503: the database may be down on purpose)."""
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            connection.close()
            return True
        except OSError:
            return False

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), or kill after 15 seconds. Safe to call twice."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> AppServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
        if self.log_path is not None:
            self.log_path.unlink(missing_ok=True)
