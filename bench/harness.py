"""Reusable parts of the benchmarks: a database, a production server, a load generator, a table.

A benchmark script composes them:

    with bench_database() as url:              # throwaway PostgreSQL, migrated
        seed(url)                              # whatever the scenario needs (Django ORM, factories)
        with Server(url, port=free_port()) as app, Server(url, settings="bench.bare_settings") as bare:
            row = compare(Scenario(...), app=app, bare=bare)
        print_table([row, ...])

The load generator is wrk (Debian package `wrk`; C, epoll, one thread keeps 16 connections busy using a
fraction of one core) driven by a Lua script under bench/lua/ that reads its inputs from files and
environment variables and prints a JSON summary with exact percentiles from wrk's latency histogram.
wrk's own CPU time is measured and reported, so a saturated load generator would show.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).resolve().parent / "lua"
sys.path.insert(0, str(ROOT))

from devtools.pgcluster import ThrowawayPostgres, free_port  # noqa: E402


def base_env(database_url: str, **extra: str) -> dict[str, str]:
    """Production-like settings: DEBUG off, a random secret, persistent database connections."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update(
        {
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(40),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": database_url,
            "DB_CONN_MAX_AGE": "600",
            "DJANGO_SETTINGS_MODULE": "courseplatform.settings",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update(extra)
    return env


@contextlib.contextmanager
def bench_database(*, durable: bool = False) -> Iterator[str]:
    """A throwaway PostgreSQL cluster with the project migrated; yields its DATABASE_URL.

    durable=False (the default) turns fsync and synchronous commit off: the benchmark then measures the
    application and the SQL, not this machine's disk flush latency.
    """
    cluster = ThrowawayPostgres(durable=durable).start()
    try:
        env = base_env(cluster.url)
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        yield cluster.url
    finally:
        cluster.stop()


def setup_django(database_url: str) -> None:
    """Configure Django in this process against the benchmark database (for seeding)."""
    os.environ.update(base_env(database_url))
    import django

    django.setup()


@dataclass
class Server:
    """gunicorn serving a settings module on a loopback port, for the duration of a `with` block."""

    database_url: str
    settings: str = "courseplatform.settings"
    port: int = field(default_factory=free_port)
    workers: int = 3
    threads: int = 1
    worker_class: str = "sync"
    ready_path: str = "/api/progress/completed"
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def description(self) -> str:
        threads = f" x {self.threads} threads" if self.worker_class == "gthread" else ""
        return f"gunicorn {self.worker_class}, {self.workers} workers{threads}"

    def __enter__(self) -> Server:
        command = [
            str(Path(sys.executable).parent / "gunicorn"),
            "courseplatform.wsgi:application",
            f"--bind=127.0.0.1:{self.port}",
            f"--workers={self.workers}",
            f"--worker-class={self.worker_class}",
            f"--threads={self.threads}",
            "--backlog=2048",
            "--log-level=warning",
        ]
        env = base_env(self.database_url, DJANGO_SETTINGS_MODULE=self.settings)
        self.process = subprocess.Popen(command, cwd=ROOT, env=env)
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(self.url + self.ready_path, timeout=2)
                break
            except urllib.error.HTTPError:
                break  # any HTTP answer (a 401 for the ready path) means it is serving
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn ({self.settings}) did not start") from None
                time.sleep(0.2)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Run:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    loadgen_cores: float  # CPU the load generator itself used, in cores

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


@dataclass
class Scenario:
    """A wrk Lua script (under bench/lua/) and the path and environment it is run with."""

    name: str
    script: str
    path: str
    env: dict[str, str] = field(default_factory=dict)


def wrk(url: str, scenario: Scenario, *, connections: int, seconds: float, threads: int = 1) -> Run:
    """Run wrk against url + scenario.path and return its summary."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: as root, run `apt-get install -y wrk`.")
    command = [
        "wrk",
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        "--timeout=5s",
        f"--script={LUA / scenario.script}",
        url + scenario.path,
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    out = subprocess.run(command, env={**os.environ, **scenario.env}, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed:\n{out.stdout}\n{out.stderr}")
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((line for line in out.stdout.splitlines() if line.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{out.stdout}\n{out.stderr}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return Run(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=data["errors"],
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        loadgen_cores=cpu / elapsed,
    )


@dataclass
class Comparison:
    """Paired rounds against the application and the bare view; the median round of each is reported."""

    scenario: str
    connections: int
    app_runs: list[Run]
    bare_runs: list[Run]

    @staticmethod
    def _median(runs: list[Run]) -> Run:
        return sorted(runs, key=lambda run: run.rps)[len(runs) // 2]

    @property
    def app(self) -> Run:
        return self._median(self.app_runs)

    @property
    def bare(self) -> Run:
        return self._median(self.bare_runs)

    @property
    def ratio(self) -> float:
        """Median of the per-round ratios: neighbours' load hits both sides of a pair alike."""
        ratios = sorted(a.rps / b.rps for a, b in zip(self.app_runs, self.bare_runs, strict=True))
        return ratios[len(ratios) // 2]


def compare(
    app_scenario: Scenario,
    bare_scenario: Scenario,
    *,
    app: Server,
    bare: Server,
    connections: int = 16,
    seconds: float = 5,
    warmup: float = 2,
    rounds: int = 5,
) -> Comparison:
    """The same load against the application and the bare view, in short alternating rounds."""
    wrk(app.url, app_scenario, connections=connections, seconds=warmup)
    wrk(bare.url, bare_scenario, connections=connections, seconds=warmup)
    app_runs, bare_runs = [], []
    for number in range(rounds):
        # Alternate which side goes first, so that a drift in the machine's load favours neither.
        first, second = (app, bare) if number % 2 == 0 else (bare, app)
        runs = {}
        for server in (first, second):
            scenario = app_scenario if server is app else bare_scenario
            runs[id(server)] = wrk(server.url, scenario, connections=connections, seconds=seconds)
        app_runs.append(runs[id(app)])
        bare_runs.append(runs[id(bare)])
    return Comparison(app_scenario.name, connections, app_runs, bare_runs)


def load_average() -> float:
    """The 1-minute load average: a busy machine (other jobs) makes every figure lower and noisier."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def print_table(rows: list[Comparison]) -> None:
    header = (
        f"{'endpoint':<28} {'clients':>7} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}"
        f" | {'bare req/s':>10} {'p50 ms':>7} {'p99 ms':>7} | {'ratio':>6} {'wrk cores':>9}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        a, b = row.app, row.bare
        print(
            f"{row.scenario:<28} {row.connections:>7} {a.rps:>8.0f} {a.p50_ms:>7.2f} {a.p99_ms:>7.2f} {a.errors:>6}"
            f" | {b.rps:>10.0f} {b.p50_ms:>7.2f} {b.p99_ms:>7.2f} | {row.ratio:>6.0%} {a.loadgen_cores:>9.2f}"
        )
