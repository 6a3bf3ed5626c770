"""Reusable parts of the benchmarks: a database, a production server, a load generator, a table.

A benchmark script composes them:

    with bench_database() as db:                   # throwaway PostgreSQL, migrated
        setup_django(db.url); seed()               # whatever the scenario needs (ORM, factories)
        with Server(db) as app, Server(db, settings="bench.bare_settings") as bare:
            row = compare(scenario, scenario, app=app, bare=bare)
        print_table([row, ...])

The load generator is wrk (Debian package `wrk`; C, epoll, one thread keeps 16 connections busy using a
fraction of one core) driven by a Lua script under bench/lua/ that reads its inputs from files and
environment variables and prints a JSON summary with exact percentiles from wrk's latency histogram.
wrk's own CPU time is reported, so a saturated load generator would show.

Besides requests per second and latency, each run records the CPU time that the server under test and
PostgreSQL spent per request (from /proc, for exactly those processes). On a machine shared with other
jobs, throughput swings with their load while CPU per request hardly moves; the ratio of CPU per request
is what the ratio of throughputs would be on an otherwise idle machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
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

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def base_env(database_url: str, **extra: str) -> dict[str, str]:
    """Production-like settings: DEBUG off, a random secret, persistent database connections.

    Plain HTTP on loopback (in production TLS ends at the proxy, so the HTTPS redirect is off here), and
    static files found without a collectstatic manifest (the pages only link to them).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update(
        {
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(40),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": database_url,
            "DB_CONN_MAX_AGE": "600",
            "SECURE_SSL_REDIRECT": "false",
            "STATICFILES_MANIFEST": "false",
            "DJANGO_SETTINGS_MODULE": "courseplatform.settings",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update(extra)
    return env


def machine() -> str:
    """This machine for a benchmark's header: cores and CPU model, memory, Python, and wrk when installed."""
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in lines if "model name" in line), platform.processor())
    memory = int(next(line for line in Path("/proc/meminfo").read_text().splitlines() if "MemTotal" in line).split()[1])
    described = f"{os.cpu_count()} cores ({cpu}), {memory / 2**20:.0f} GiB, Python {platform.python_version()}"
    if shutil.which("wrk"):
        wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split(" [")[0]
        described += f", {wrk_version.strip()}"
    return described


def descendants_cpu(roots: list[int]) -> float:
    """CPU seconds (user + system) used so far by these processes and all their descendants."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        times[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    wanted = set(roots)
    grew = True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in wanted} - wanted
        wanted |= more
        grew = bool(more)
    return sum(times.get(pid, 0.0) for pid in wanted)


@dataclass
class BenchDatabase:
    url: str
    cluster: ThrowawayPostgres

    @property
    def postmaster_pid(self) -> int:
        return self.cluster.postmaster_pid


@contextlib.contextmanager
def bench_database(*, durable: bool = False) -> Iterator[BenchDatabase]:
    """A throwaway PostgreSQL cluster with the project migrated.

    durable=False (the default) turns fsync and synchronous commit off: the benchmark then measures the
    application and the SQL, not this machine's disk flush latency.
    """
    cluster = ThrowawayPostgres(durable=durable).start()
    try:
        env = base_env(cluster.url)
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        yield BenchDatabase(cluster.url, cluster)
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

    database: BenchDatabase
    settings: str = "courseplatform.settings"
    port: int = field(default_factory=free_port)
    workers: int = 3
    threads: int = 1
    worker_class: str = "sync"
    # True: gunicorn with the repository's gunicorn.conf.py (workers, threads, connections from its
    # defaults or the environment) instead of the options above, as production runs it.
    production_config: bool = False
    # Where the server's output goes (None: this terminal). The request log writes a line per request.
    output: int | None = None
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def description(self) -> str:
        if self.production_config:
            workers = os.environ.get("WEB_CONCURRENCY") or "2"
            threads = os.environ.get("GUNICORN_THREADS") or "8"
            return f"gunicorn with gunicorn.conf.py ({workers} gthread workers x {threads} threads)"
        threads = f" x {self.threads} threads" if self.worker_class == "gthread" else ""
        return f"gunicorn {self.worker_class}, {self.workers} workers{threads}"

    @property
    def cpu_roots(self) -> list[int]:
        """The processes whose CPU counts for this server: gunicorn and PostgreSQL."""
        assert self.process is not None
        return [self.process.pid, self.database.postmaster_pid]

    def __enter__(self) -> Server:
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        if self.production_config:
            command = [gunicorn, f"--config={ROOT / 'gunicorn.conf.py'}", f"--bind=127.0.0.1:{self.port}"]
        else:
            command = [
                gunicorn,
                "courseplatform.wsgi:application",
                f"--bind=127.0.0.1:{self.port}",
                f"--workers={self.workers}",
                f"--worker-class={self.worker_class}",
                f"--threads={self.threads}",
                "--log-level=warning",
            ]
        env = base_env(self.database.url, DJANGO_SETTINGS_MODULE=self.settings)
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.output, stderr=self.output)
        deadline = time.monotonic() + 90  # a loaded 2-core machine took 39 s
        while True:
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=2)
                break
            except urllib.error.HTTPError:
                break  # any HTTP answer means it is serving
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.__exit__()  # stop what was started: __exit__ does not run when __enter__ raises
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
    cpu_us: float  # CPU of the server and PostgreSQL per request, in microseconds

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


def wrk(server: Server, scenario: Scenario, *, connections: int, seconds: float, threads: int = 1) -> Run:
    """Load server.url + scenario.path with wrk and return its summary."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: as root, run `apt-get install -y wrk`.")
    command = [
        "wrk",
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        "--timeout=5s",
        f"--script={LUA / scenario.script}",
        server.url + scenario.path,
    ]
    cpu_before = descendants_cpu(server.cpu_roots)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    out = subprocess.run(command, env={**os.environ, **scenario.env}, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_after = descendants_cpu(server.cpu_roots)
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed:\n{out.stdout}\n{out.stderr}")
    line = next((line for line in out.stdout.splitlines() if line.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{out.stdout}\n{out.stderr}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    loadgen = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return Run(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=data["errors"],
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        loadgen_cores=loadgen / elapsed,
        cpu_us=(cpu_after - cpu_before) / max(data["requests"], 1) * 1e6,
    )


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


@dataclass
class Comparison:
    """Paired rounds against the application and the bare view; the median round of each is reported."""

    scenario: str
    connections: int
    app_runs: list[Run]
    bare_runs: list[Run]

    @staticmethod
    def _median_run(runs: list[Run]) -> Run:
        return sorted(runs, key=lambda run: run.rps)[len(runs) // 2]

    @property
    def app(self) -> Run:
        return self._median_run(self.app_runs)

    @property
    def bare(self) -> Run:
        return self._median_run(self.bare_runs)

    @property
    def ratio(self) -> float:
        """Median of the per-round throughput ratios: neighbours' load hits both sides of a pair alike."""
        return _median([a.rps / b.rps for a, b in zip(self.app_runs, self.bare_runs, strict=True)])

    @property
    def cpu_ratio(self) -> float:
        """Bare CPU per request over the application's: the throughput ratio on an idle machine."""
        return _median([b.cpu_us for b in self.bare_runs]) / _median([a.cpu_us for a in self.app_runs])


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
    """The same load against the application and the bare view, in short alternating rounds.

    A floor that answers errors measures nothing: the warm-up of either side failing stops the run.
    """
    for server, scenario in ((app, app_scenario), (bare, bare_scenario)):
        warm = wrk(server, scenario, connections=connections, seconds=warmup)
        if warm.errors > warm.requests // 100:
            side = "bare floor" if server is bare else "application"
            failed = f"{warm.errors} of {warm.requests} {scenario.name} requests"
            raise RuntimeError(f"the {side} answered {failed} with errors")
    app_runs, bare_runs = [], []
    for number in range(rounds):
        # Alternate which side goes first, so that a drift in the machine's load favours neither.
        order = [(app, app_scenario, app_runs), (bare, bare_scenario, bare_runs)]
        for server, scenario, runs in order if number % 2 == 0 else reversed(order):
            runs.append(wrk(server, scenario, connections=connections, seconds=seconds))
    return Comparison(app_scenario.name, connections, app_runs, bare_runs)


def load_average() -> float:
    """The 1-minute load average: a busy machine (other jobs) makes throughput lower and noisier."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def print_table(rows: list[Comparison]) -> None:
    header = (
        f"{'endpoint':<28} {'clients':>7} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'CPU µs':>7} {'err':>4}"
        f" | {'bare req/s':>10} {'p50 ms':>7} {'p99 ms':>7} {'CPU µs':>7} {'err':>4}"
        f" | {'ratio':>6} {'CPU ratio':>9} {'wrk cores':>9}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        a, b = row.app, row.bare
        print(
            f"{row.scenario:<28} {row.connections:>7} {a.rps:>7.0f} {a.p50_ms:>7.2f} {a.p99_ms:>7.2f}"
            f" {_median([r.cpu_us for r in row.app_runs]):>7.0f} {a.errors:>4}"
            f" | {b.rps:>10.0f} {b.p50_ms:>7.2f} {b.p99_ms:>7.2f} {_median([r.cpu_us for r in row.bare_runs]):>7.0f}"
            f" {b.errors:>4}"
            f" | {row.ratio:>6.0%} {row.cpu_ratio:>9.0%} {a.loadgen_cores:>9.2f}"
        )


def print_rounds(rows: list[Comparison]) -> None:
    """Requests per second of every round, to show how steady the machine was."""
    for row in rows:
        app = " ".join(f"{run.rps:.0f}" for run in row.app_runs)
        bare = " ".join(f"{run.rps:.0f}" for run in row.bare_runs)
        print(f"  {row.scenario}: app rounds {app} | bare rounds {bare}")


@dataclass
class SeededCourse:
    """The largest course of a synced vault, with one anonymous learner halfway through it."""

    course: object  # ContentItem
    module_ids: list
    entries: list  # every ModuleEntry of the course, in learner order (item bodies deferred)
    required: list  # the required ones among them
    completed: int  # how many required steps the learner completed: the first half
    token: str  # the learner's X-Session-Token

    @property
    def largest_module_entry(self):
        """The first entry of the course's largest module (the heaviest module page)."""
        sizes = {module_id: sum(e.module_id == module_id for e in self.entries) for module_id in self.module_ids}
        largest = max(self.module_ids, key=lambda module_id: (sizes[module_id], -self.module_ids.index(module_id)))
        return next(entry for entry in self.entries if entry.module_id == largest)


def seed_largest_course(vault: Path) -> SeededCourse:
    """Sync `vault`, pick the course with the most steps, and have one anonymous learner complete the first
    half of its required steps, answering a test's questions before completing it, as the pages require."""
    import io
    import uuid

    from django.core.management import call_command
    from django.db.models import Count

    from chat.questions import questions_of
    from chat.services import save_answer
    from content_loader.models import ContentItem, ContentType, CourseEntry, ModuleEntry
    from progress.identity import Learner
    from progress.services import complete_content

    call_command("sync_content", str(vault), verbosity=0, stdout=io.StringIO(), stderr=io.StringIO())
    course = (
        ContentItem.objects.courses()
        .annotate(steps=Count("course_entries__module__module_entries"))
        .order_by("-steps", "slug")
        .first()
    )
    if course is None:
        raise SystemExit(f"{vault} holds no course.")
    module_ids = list(
        CourseEntry.objects.filter(course=course, kind=CourseEntry.Kind.MODULE)
        .order_by("position")
        .values_list("module_id", flat=True)
    )
    entries = list(
        ModuleEntry.objects.filter(module_id__in=module_ids).select_related("module", "item").defer("item__body")
    )
    entries.sort(key=lambda entry: (module_ids.index(entry.module_id), entry.position))
    required = [entry for entry in entries if not entry.optional]
    token = uuid.uuid4()
    learner = Learner(session_token=token)
    for entry in required[: len(required) // 2]:
        if entry.item.content_type == ContentType.TEST:
            test = ContentItem.objects.get(pk=entry.item_id)
            for question in questions_of(test):
                answer = "An answer written for the benchmark."[: question.get("max_chars") or None]
                save_answer(
                    user_id=None,
                    session_token=token,
                    content_id=test.pk,
                    content_type=test.content_type,
                    question=question,
                    text=answer,
                    locked=False,
                )
        complete_content(
            learner=learner,
            content_id=entry.item_id,
            content_type=entry.item.content_type,
            module_slug=entry.module.slug,
        )
    return SeededCourse(course, module_ids, entries, required, len(required) // 2, str(token))
