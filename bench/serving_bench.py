"""Measure gunicorn worker and thread combinations, to choose the defaults of gunicorn.conf.py.

    .venv/bin/python bench/serving_bench.py                      # the default configurations and endpoints
    .venv/bin/python bench/serving_bench.py --configs sync:2x1,gthread:2x4 --connections 4,16 --duration 5
    .venv/bin/python bench/serving_bench.py --compare-clients    # is the load generator the bottleneck?

It starts a throwaway PostgreSQL, migrates it, and for each configuration starts the production server
(gunicorn with gunicorn.conf.py, DEBUG off, persistent connections, request logs on) and loads each
endpoint with a fixed number of keep-alive connections, then prints requests per second, p50 and p99
latency, non-2xx answers, and who used the CPU (server, PostgreSQL, load generator; this machine's
cores are shared by all three).

Endpoints are names or METHOD:PATH. `healthz` is GET /healthz (one SELECT 1); `heartbeat` is the
anonymous heartbeat POST /api/progress/time with a random X-Session-Token from a pool of 1000, on a lens
of the demo course.

`--long N` adds N connections that each hold a worker or a thread for the whole run, as a streamed tutor
reply does (they send their request headers one byte a second), and measures the endpoints around them.

The load generator is Debian's `wrk` (apt-get install wrk) driven by a Lua script; without it, or with
`--client python`, a keep-alive asyncio client in a child process. Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import CLOCK_TICKS, descendants_cpu, machine  # noqa: E402
from devtools.appserver import AppServer  # noqa: E402
from devtools.pgcluster import ThrowawayPostgres  # noqa: E402

DEFAULT_CONFIGS = "sync:2x1,sync:4x1,sync:5x1,gthread:2x4,gthread:4x4,gthread:2x8"
TOKEN_POOL = 1000
# Cores busy with other processes above which a measurement is flagged as disturbed.
OTHER_LOAD_WARNING = 0.2


@dataclass
class Endpoint:
    name: str
    method: str
    path: str
    body: str | None = None
    token: bool = False


@dataclass
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    client_cpu: float  # cores used by the load generator

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


# --- the load generators ---------------------------------------------------------------------------

WRK_SCRIPT = """
local method, path, body, use_token, close = %(method)s, %(path)s, %(body)s, %(token)s, %(close)s
local tokens = {}

local function hex(n) local s = "" for _ = 1, n do s = s .. string.format("%%x", math.random(0, 15)) end return s end

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
  for i = 1, %(pool)d do tokens[i] = hex(8) .. "-" .. hex(4) .. "-4" .. hex(3) .. "-a" .. hex(3) .. "-" .. hex(12) end
end

function request()
  local headers = {}
  if use_token then headers["X-Session-Token"] = tokens[math.random(#tokens)] end
  if body then headers["Content-Type"] = "application/json" end
  if close then headers["Connection"] = "close" end
  return wrk.format(method, path, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, "non_2xx": %%d, "socket_errors": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def lua_string(value: str | None) -> str:
    return "nil" if value is None else json.dumps(value)


def load_with_wrk(url: str, endpoint: Endpoint, connections: int, seconds: float, keepalive: bool) -> Result:
    script = WRK_SCRIPT % {
        "close": "false" if keepalive else "true",
        "method": lua_string(endpoint.method),
        "path": lua_string(endpoint.path),
        "body": lua_string(endpoint.body),
        "token": "true" if endpoint.token else "false",
        "pool": TOKEN_POOL,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        threads = min(2, connections)
        command = [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            handle.name,
        ]
        stdout, cpu = measured_child([*command, url])
    finally:
        os.unlink(handle.name)
    data = json.loads(stdout.strip().splitlines()[-1])
    return Result(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        non_2xx=data["non_2xx"],
        socket_errors=data["socket_errors"],
        client_cpu=cpu / seconds,
    )


def load_with_python(url: str, endpoint: Endpoint, connections: int, seconds: float, keepalive: bool) -> Result:
    spec = {"url": url, "endpoint": vars(endpoint), "connections": connections, "seconds": seconds}
    spec = json.dumps({**spec, "keepalive": keepalive})
    stdout, cpu = measured_child([sys.executable, __file__, "--python-client-child", spec])
    data = json.loads(stdout)
    return Result(**data, client_cpu=cpu / seconds)


def measured_child(command: list[str]) -> tuple[str, float]:
    """Run a child to completion; return its standard output and the CPU seconds it used."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out_chunks: list[str] = []
    err_chunks: list[str] = []
    readers = [
        threading.Thread(target=lambda: out_chunks.append(process.stdout.read())),
        threading.Thread(target=lambda: err_chunks.append(process.stderr.read())),
    ]
    for reader in readers:
        reader.start()
    _pid, status, usage = os.wait4(process.pid, 0)
    for reader in readers:
        reader.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"{command[0]} failed: {''.join(err_chunks).strip()}")
    return "".join(out_chunks), usage.ru_utime + usage.ru_stime


async def python_client(url: str, endpoint: dict, connections: int, seconds: float, keepalive: bool) -> dict:
    """HTTP/1.1 connections sending requests back to back; latencies of complete answers."""
    host, port = url.removeprefix("http://").split(":")
    tokens = [str(uuid.uuid4()) for _ in range(TOKEN_POOL)]
    body = (endpoint["body"] or "").encode()
    latencies: list[float] = []
    counts = {"non_2xx": 0, "socket_errors": 0}
    deadline = time.perf_counter() + seconds

    def request() -> bytes:
        lines = [f"{endpoint['method']} {endpoint['path']} HTTP/1.1", f"Host: {host}:{port}"]
        if endpoint["token"]:
            lines.append(f"X-Session-Token: {random.choice(tokens)}")
        if body:
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        if not keepalive:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    async def connection() -> None:
        reader = writer = None
        while time.perf_counter() < deadline:
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, int(port))
                started = time.perf_counter()
                writer.write(request())
                status = int((await reader.readline()).split()[1])
                length, close = 0, False
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                    elif name.lower() == "connection" and value.strip().lower() == "close":
                        close = True
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                counts["non_2xx"] += not 200 <= status < 300
                if close:
                    writer.close()
                    writer = None
            except (OSError, asyncio.IncompleteReadError, IndexError, ValueError):
                counts["socket_errors"] += 1
                writer = None

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def percentile(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000 if latencies else 0.0

    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "p50_ms": percentile(0.50),
        "p99_ms": percentile(0.99),
        **counts,
    }


# --- connections that hold a worker ---------------------------------------------------------------


class LongRequests:
    """N streamed replies in progress for the whole measurement, each holding a worker or a thread.

    They are the stand-in of ops.tests.server (a line a second), as a tutor reply streams; a reply that
    ends or breaks is requested again at once.
    """

    def __init__(self, url: str, count: int) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.address = (host, int(port))
        self.stopped = threading.Event()
        self.threads = [threading.Thread(target=self._hold, daemon=True) for _ in range(count)]

    def _hold(self) -> None:
        while not self.stopped.is_set():
            try:
                with socket.create_connection(self.address, timeout=1) as sock:
                    sock.sendall(b"GET /ops-test/slow-stream?seconds=600 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                    while not self.stopped.is_set():
                        try:
                            if not sock.recv(4096):
                                break
                        except TimeoutError:
                            continue
            except OSError:
                self.stopped.wait(0.2)

    def __enter__(self) -> LongRequests:
        for thread in self.threads:
            thread.start()
        if self.threads:
            time.sleep(1.5)  # let the server hand each of them to a worker or a thread
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopped.set()
        for thread in self.threads:
            thread.join(5)


# --- CPU accounting from /proc --------------------------------------------------------------------


def machine_busy_seconds() -> float:
    """CPU seconds all cores of this machine spent busy since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


# --- the run --------------------------------------------------------------------------------------


def manage(cluster: ThrowawayPostgres, *args: str) -> subprocess.CompletedProcess:
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DEBUG", "DATABASE_URL"}},
        "DJANGO_SETTINGS_MODULE": "courseplatform.settings",
        "DATABASE_URL": cluster.url,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-only-secret-key-" + "x" * 40,
    }
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)


def resolve_endpoints(names: list[str], cluster: ThrowawayPostgres) -> list[Endpoint]:
    endpoints = []
    for name in names:
        if name == "healthz":
            endpoints.append(Endpoint("healthz", "GET", "/healthz"))
        elif name == "heartbeat":
            manage(cluster, "sync_content")  # the demo course: a lens to credit time to
            lens = manage(
                cluster,
                "shell",
                "--no-imports",  # Django 5.2's shell otherwise prints what it imported before the output
                "-c",
                "from content_loader.models import ContentItem; "
                "print(ContentItem.objects.filter(content_type='lens').values_list('pk', flat=True).first() or '')",
            ).stdout.strip()
            if not lens:
                raise SystemExit("heartbeat: the demo course gave no lens to credit time to.")
            body = json.dumps({"content_id": lens, "time_delta_s": 60})
            endpoints.append(Endpoint("heartbeat", "POST", "/api/progress/time", body=body, token=True))
        elif ":" in name:
            method, path = name.split(":", 1)
            endpoints.append(Endpoint(name, method.upper(), path))
        else:
            raise SystemExit(f"Unknown endpoint {name!r}: use healthz, heartbeat or METHOD:/path")
    return endpoints


@dataclass
class Config:
    kind: str
    workers: int
    threads: int
    worker_connections: int | None  # None: gunicorn.conf.py's default

    @property
    def label(self) -> str:
        shape = f"{self.kind} {self.workers}x{self.threads}"
        return shape + (f" wc{self.worker_connections}" if self.worker_connections else "")


def parse_config(text: str) -> Config:
    """sync:WORKERSx1, gthread:WORKERSxTHREADS, optionally :wcN for gunicorn's worker_connections."""
    kind, _, rest = text.partition(":")
    shape, _, connections = rest.partition(":")
    workers, _, threads = shape.partition("x")
    wc = connections.removeprefix("wc")
    if kind not in {"sync", "gthread"} or not workers.isdigit() or not threads.isdigit() or (wc and not wc.isdigit()):
        raise SystemExit(f"Bad configuration {text!r}: use sync:WORKERSx1 or gthread:WORKERSxTHREADS[:wcN]")
    return Config(kind, int(workers), int(threads), int(wc) if wc else None)


@dataclass
class Measurement:
    result: Result
    app_cpu: float
    pg_cpu: float
    other_cpu: float  # cores busy with processes that are not this run's


def measure(server: AppServer, cluster: ThrowawayPostgres, load, endpoint: Endpoint, args, **options) -> Measurement:
    if args.warmup:
        load(server.url, endpoint, seconds=args.warmup, **options)
    app_before = descendants_cpu([server.process.pid])
    pg_before = descendants_cpu([cluster.postmaster_pid])
    busy_before = machine_busy_seconds()
    result = load(server.url, endpoint, seconds=args.duration, **options)
    # Living processes only: one that exited during the run (a closed connection's backend) takes its CPU
    # time with it, so these are lower bounds.
    app_cpu = max(0.0, descendants_cpu([server.process.pid]) - app_before) / result.seconds
    pg_cpu = max(0.0, descendants_cpu([cluster.postmaster_pid]) - pg_before) / result.seconds
    busy = (machine_busy_seconds() - busy_before) / result.seconds
    return Measurement(result, app_cpu, pg_cpu, max(0.0, busy - app_cpu - pg_cpu - result.client_cpu))


COLUMNS = (
    f"{'config':<19} {'client':<6} {'endpoint':<9} {'conn':>4} {'k-a':>3} {'long':>4} {'req/s':>7} {'p50 ms':>7} "
    f"{'p99 ms':>7} {'non2xx':>6} {'sockerr':>7} {'app':>5} {'pg':>5} {'load':>5} {'other':>5}"
)


def row(config: str, client: str, endpoint: str, connections: int, keepalive: bool, long: int, m: Measurement) -> str:
    r = m.result
    return (
        f"{config:<19} {client:<6} {endpoint:<9} {connections:>4} {'on' if keepalive else 'off':>3} {long:>4} "
        f"{r.rps:>7.0f} {r.p50_ms:>7.1f} {r.p99_ms:>7.1f} {r.non_2xx:>6} {r.socket_errors:>7} "
        f"{m.app_cpu:>5.2f} {m.pg_cpu:>5.2f} {r.client_cpu:>5.2f} {m.other_cpu:>5.2f}"
        + ("  <- other load on the machine" if m.other_cpu > OTHER_LOAD_WARNING else "")
    )


def csv_ints(text: str) -> list[int]:
    return [int(item) for item in text.split(",") if item]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", default=DEFAULT_CONFIGS, help=f"comma-separated (default {DEFAULT_CONFIGS})")
    parser.add_argument("--endpoints", default="healthz,heartbeat", help="comma-separated names or METHOD:/path")
    parser.add_argument("--connections", default="16", help="comma-separated connection counts (default 16)")
    parser.add_argument(
        "--keepalive",
        default="off",
        help="comma-separated off/on (default off: a learner's heartbeats are a minute apart, longer than "
        "gunicorn's keep-alive, so each arrives on a new connection)",
    )
    parser.add_argument("--long", default="0,4", help="comma-separated counts of streamed replies in progress (0,4)")
    parser.add_argument("--duration", type=float, default=8, help="seconds of load per measurement (8)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of load before each measurement (2)")
    parser.add_argument("--repeat", type=int, default=1, help="measure each case N times and keep the median (1)")
    parser.add_argument("--client", choices=["wrk", "python"], default="wrk" if shutil.which("wrk") else "python")
    parser.add_argument("--compare-clients", action="store_true", help="measure wrk against the asyncio client")
    parser.add_argument("--durable", action="store_true", help="PostgreSQL with fsync on (default: off)")
    parser.add_argument("--python-client-child", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.python_client_child:
        spec = json.loads(args.python_client_child)
        print(json.dumps(asyncio.run(python_client(**spec))))
        return

    configs = [parse_config(c) for c in args.configs.split(",") if c]
    keepalives = [{"on": True, "off": False}[k] for k in args.keepalive.split(",") if k]
    clients = ["wrk", "python"] if args.compare_clients else [args.client]
    if "wrk" in clients and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk); or use --client python")
    loaders = {"wrk": load_with_wrk, "python": load_with_python}

    print(f"# serving bench, {time.strftime('%Y-%m-%d %H:%M')}, {machine()}")
    print(
        f"# PostgreSQL fsync {'on' if args.durable else 'off'}; {args.duration:g} s per measurement after "
        f"{args.warmup:g} s of warm-up; median of {args.repeat}"
    )
    with ThrowawayPostgres(durable=args.durable, max_connections=200) as cluster:
        migrated = manage(cluster, "migrate", "--noinput")
        if migrated.returncode:
            raise SystemExit(migrated.stderr)
        endpoints = resolve_endpoints([e for e in args.endpoints.split(",") if e], cluster)
        print(COLUMNS)
        print("-" * len(COLUMNS))
        for config in configs:
            # The project plus a streamed reply's stand-in (for --long); persistent connections; INFO logs.
            with AppServer(
                database_url=cluster.url,
                app="ops.tests.server:application",
                workers=config.workers,
                threads=config.threads,
                worker_class=config.kind,
                worker_connections=config.worker_connections,
                env={"DB_CONN_MAX_AGE": "60", "LOG_LEVEL": "INFO"},
            ) as server:
                for endpoint, long, connections, keepalive, client in itertools.product(
                    endpoints, csv_ints(args.long), csv_ints(args.connections), keepalives, clients
                ):
                    with LongRequests(server.url, long):
                        runs = [
                            measure(
                                server,
                                cluster,
                                loaders[client],
                                endpoint,
                                args,
                                connections=connections,
                                keepalive=keepalive,
                            )
                            for _ in range(args.repeat)
                        ]
                    # The median by throughput among the least disturbed runs.
                    quiet = [m for m in runs if m.other_cpu <= OTHER_LOAD_WARNING] or runs
                    median = sorted(quiet, key=lambda m: m.result.rps)[len(quiet) // 2]
                    print(row(config.label, client, endpoint.name, connections, keepalive, long, median), flush=True)
    print(
        f"# app, pg, load, other: cores busy on average with the server, PostgreSQL, the load generator and "
        f"anything else on this machine (it has {os.cpu_count()}); k-a: keep-alive; long: streamed replies "
        f"in progress"
    )


if __name__ == "__main__":
    main()
