"""A throwaway PostgreSQL cluster on a free loopback port, for tests and benchmarks.

The cluster lives in a temporary directory and is removed when it stops. The server binaries are found
through `PG_BIN`, `pg_config --bindir`, `PATH` or `/usr/lib/postgresql/*/bin`. PostgreSQL refuses to
run as root, so as root the cluster runs as the `postgres` user (or `nobody`).
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")


class PostgresNotFound(RuntimeError):
    pass


def find_bindir() -> Path:
    """Return the directory holding initdb, pg_ctl and postgres, or raise PostgresNotFound."""
    candidates: list[str] = []
    if os.environ.get("PG_BIN"):
        candidates.append(os.environ["PG_BIN"])
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True)
            candidates.append(out.stdout.strip())
        except (subprocess.CalledProcessError, OSError):
            pass
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).resolve().parent))
    candidates.extend(sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True))
    for candidate in candidates:
        if all((Path(candidate) / name).exists() for name in SERVER_BINARIES):
            return Path(candidate)
    raise PostgresNotFound(
        "No PostgreSQL server binaries (initdb, pg_ctl, postgres) were found. Install them "
        "(Debian: apt-get install postgresql) or point PG_BIN at their directory, or set DATABASE_URL "
        "to an existing server."
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_as() -> str | None:
    """The unprivileged user to run the server as, or None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise PostgresNotFound("Running as root, but there is no 'postgres' or 'nobody' user to run PostgreSQL as.")


class ThrowawayPostgres:
    """Start with `start()` (or use as a context manager); `url` is then a DATABASE_URL for it."""

    def __init__(self, *, durable: bool = False, max_connections: int = 200, autovacuum: bool = True) -> None:
        # durable=False turns fsync off: much faster, and tests never crash the PostgreSQL host itself.
        # autovacuum=False for the suite: tests write in transactions they roll back, so an autovacuum that
        # happens to run between them sees pages full of dead rows and records the table as empty
        # (reltuples 0). The planner then estimates one row everywhere and picks nested loops, which made
        # a completion on a 12-module course take 7-10 s in one test order (the suite's one 600 s timeout).
        # Without it a table keeps "never vacuumed" and is estimated from its current size.
        self.durable = durable
        self.autovacuum = autovacuum
        self.max_connections = max_connections
        self.bindir = find_bindir()
        self.user = _run_as()
        self.port: int | None = None
        self.root: Path | None = None

    @property
    def datadir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def postmaster_pid(self) -> int:
        """The server's main process (its first line of postmaster.pid), while it runs."""
        return int((self.datadir / "postmaster.pid").read_text().split()[0])

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _cmd(self, *args: str) -> list[str]:
        return ["runuser", "-u", self.user, "--", *args] if self.user else list(args)

    def start(self) -> ThrowawayPostgres:
        self.root = Path(tempfile.mkdtemp(prefix="courseplatform-pg-"))
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        subprocess.run(
            self._cmd(
                str(self.bindir / "initdb"),
                "-D",
                str(self.datadir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ),
            check=True,
            capture_output=True,
        )
        atexit.register(self.stop)
        for _attempt in range(5):
            self.port = free_port()
            if self._pg_ctl_start():
                return self
        raise RuntimeError(f"PostgreSQL did not start; see {self.root / 'server.log'}")

    def _pg_ctl_start(self) -> bool:
        options = [
            f"-p {self.port}",
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={self.root}",
            f"-c max_connections={self.max_connections}",
        ]
        if not self.durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        if not self.autovacuum:
            options.append("-c autovacuum=off")
        result = subprocess.run(
            self._cmd(
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.datadir),
                "-l",
                str(self.root / "server.log"),
                "-o",
                " ".join(options),
                "-w",
                "-t",
                "30",
                "start",
            ),
            capture_output=True,
        )
        return result.returncode == 0

    def stop(self, mode: str = "fast") -> None:
        """Stop the server and remove its files. Safe to call twice."""
        if self.root is None:
            return
        if (self.datadir / "postmaster.pid").exists():
            subprocess.run(
                self._cmd(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop"),
                capture_output=True,
            )
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def pause(self) -> None:
        """Stop the server but keep its data, so that `resume()` brings the same database back."""
        subprocess.run(
            self._cmd(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "stop"),
            check=True,
            capture_output=True,
        )

    def resume(self) -> None:
        """Start the server again on the same port after `pause()`."""
        deadline = time.monotonic() + 30
        while not self._pg_ctl_start():
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not restart; see {self.root / 'server.log'}")
            time.sleep(0.5)

    def __enter__(self) -> ThrowawayPostgres:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
