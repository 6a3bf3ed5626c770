"""The tutor path under load: learners chatting with a slow model while others heartbeat.

    .venv/bin/python bench/tutor_bench.py                          # 200 chatters, every configuration
    .venv/bin/python bench/tutor_bench.py --chatters 50 --configs gthread:2x8 --seconds 10

It starts a throwaway PostgreSQL (migrated, the demo course synced) and a fake model: a real HTTP server
on 127.0.0.1 speaking the OpenAI streaming protocol (chat/tests/fake_tutor.py), each reply `--pieces`
pieces `--delay` seconds apart. For each server configuration (the production gunicorn.conf.py, with the
worker class and threads given) it measures, in one run:

- the floor: the anonymous heartbeat (POST /api/progress/time, wrk, `--connections`) with no chats;
- the same heartbeat while `--chatters` learners chat, each in a loop: send a message as chat.js does
  (htmx POST), then read the streamed reply (POST reply/, newline-delimited JSON) to its `done`;
- afterwards, from the database: every accepted message has its reply, complete, with the model's text.

It prints heartbeat p50/p99 next to the floor, the chatters' figures (send latency, time to the first
piece and to the end of the reply, replies that failed), the CPU of the server and PostgreSQL, and the
load average. Everything stays on 127.0.0.1; every process started here is stopped by its id.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import http.server
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    LUA,
    BenchDatabase,
    Scenario,
    Server,
    base_env,
    descendants_cpu,
    load_average,
    machine,
    wrk,
)
from chat.tests.fake_tutor import FakeTutorServer, Stream  # noqa: E402
from devtools.pgcluster import ThrowawayPostgres  # noqa: E402

DEFAULT_CONFIGS = "gthread:2x8,gthread:2x128,uvicorn:2"
REPLY_ID = re.compile(rb'name="reply_id" value="(\d+)"')


class Always:
    """A fake-model script that never runs out: every request gets the same slow stream."""

    def __init__(self, action: Stream) -> None:
        self.action = action

    def __bool__(self) -> bool:
        return True

    def popleft(self) -> Stream:
        return self.action


@dataclass
class Config:
    text: str
    worker_class: str
    workers: int
    threads: int

    @property
    def env(self) -> dict[str, str]:
        worker_class = "uvicorn_worker.UvicornWorker" if self.worker_class == "uvicorn" else self.worker_class
        return {"GUNICORN_WORKER_CLASS": worker_class, "WEB_CONCURRENCY": str(self.workers)} | (
            {"GUNICORN_THREADS": str(self.threads)} if self.threads else {}
        )

    @property
    def label(self) -> str:
        if self.worker_class == "uvicorn":
            return f"gunicorn + uvicorn worker (ASGI), {self.workers} workers"
        return f"gunicorn {self.worker_class} (WSGI), {self.workers} workers x {self.threads} threads"


def parse_config(text: str) -> Config:
    kind, _, shape = text.partition(":")
    if kind == "uvicorn":
        return Config(text, "uvicorn", int(shape or 2), 0)
    workers, _, threads = shape.partition("x")
    return Config(text, kind, int(workers), int(threads or 1))


@dataclass
class ChatFigures:
    sends: int = 0  # messages the server accepted (200)
    refused: list[str] = field(default_factory=list)  # status or error of the others
    done: int = 0  # streamed replies that ended with `done`
    failed: list[str] = field(default_factory=list)  # streams that ended otherwise
    send_ms: list[float] = field(default_factory=list)
    first_ms: list[float] = field(default_factory=list)  # from the reply POST to its first piece
    whole_s: list[float] = field(default_factory=list)  # from the send to `done`
    lock: threading.Lock = field(default_factory=threading.Lock)


def chat_loop(port: int, lens: str, segment: int, stop: threading.Event, figures: ChatFigures) -> None:
    """One learner: send, read the streamed reply to its end, again, until `stop` (finishing the reply)."""
    token, csrf = uuid.uuid4(), secrets.token_hex(16)
    headers = {
        "Cookie": f"learner_token={token}; csrftoken={csrf}",
        "X-CSRFToken": csrf,
        "Content-Type": "application/x-www-form-urlencoded",
    }
    base = f"/chat/lens/{lens}/chat/{segment}"
    number = 0
    while not stop.is_set():
        number += 1
        started = time.monotonic()
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            body = urlencode({"text": f"Question {number}?", "next": "/"})
            connection.request("POST", f"{base}/send/", body, {**headers, "HX-Request": "true"})
            response = connection.getresponse()
            page = response.read()
            connection.close()
        except OSError as error:
            with figures.lock:
                figures.refused.append(type(error).__name__)
            continue
        sent = time.monotonic()
        found = REPLY_ID.search(page)
        if response.status != 200 or found is None:
            with figures.lock:
                figures.refused.append(str(response.status))
            continue
        with figures.lock:
            figures.sends += 1
            figures.send_ms.append((sent - started) * 1000)
        first, outcome = None, "no end"
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            body = urlencode({"reply_id": found.group(1).decode(), "next": "/"})
            connection.request("POST", f"{base}/reply/", body, {**headers, "Accept": "application/x-ndjson"})
            response = connection.getresponse()
            asked = time.monotonic()
            for line in response:
                if b'"delta"' in line and first is None:
                    first = time.monotonic() - asked
                if b'"event": "done"' in line:
                    outcome = "done"
                elif b'"event": "error"' in line:
                    outcome = "error"
            connection.close()
        except OSError as error:
            outcome = type(error).__name__
        with figures.lock:
            if outcome == "done":
                figures.done += 1
                figures.whole_s.append(time.monotonic() - started)
                if first is not None:
                    figures.first_ms.append(first * 1000)
            else:
                figures.failed.append(outcome)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


@contextlib.contextmanager
def database(max_connections: int) -> Iterator[BenchDatabase]:
    """A throwaway PostgreSQL, migrated, with the demo course synced.

    Each reply being generated holds a connection of its own (its background thread), beside every
    server thread's: 200 replies need room beyond the test clusters' 200.
    """
    cluster = ThrowawayPostgres(durable=False, max_connections=max_connections).start()
    try:
        env = base_env(cluster.url)
        for args in (["migrate", "--noinput", "-v0"], ["sync_content", str(ROOT / "content"), "-v0"]):
            subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)
        yield BenchDatabase(cluster.url, cluster)
    finally:
        cluster.stop()


def query(url: str, sql: str, *params) -> list[tuple]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        cursor = connection.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def chat_lens(url: str) -> tuple[str, int]:
    for lens_id, body in query(url, "SELECT id, body FROM content_loader_contentitem WHERE content_type = 'lens'"):
        chats = [segment["index"] for segment in body.get("segments", []) if segment.get("type") == "chat"]
        if chats:
            return str(lens_id), chats[0]
    raise SystemExit("The demo content has no lens with a chat.")


def audit(url: str, expected: str, timeout: float = 180) -> dict:
    """Wait until no reply is being generated, then count what the database holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        (generating,) = query(url, "SELECT count(*) FROM chat_chatmessage WHERE state = 'generating'")[0]
        if not generating:
            break
        time.sleep(0.5)
    (counts,) = query(
        url,
        """
        SELECT count(*) FILTER (WHERE role = 'user'),
               count(*) FILTER (WHERE role = 'assistant' AND state = 'complete' AND text = %s),
               count(*) FILTER (WHERE role = 'assistant' AND state = 'complete' AND text <> %s),
               count(*) FILTER (WHERE role = 'assistant' AND state = 'interrupted'),
               count(*) FILTER (WHERE role = 'assistant' AND state = 'generating')
        FROM chat_chatmessage
        """,
        expected,
        expected,
    )
    (unanswered,) = query(
        url,
        """
        SELECT count(*) FROM chat_chatmessage u WHERE u.role = 'user' AND NOT EXISTS (
            SELECT 1 FROM chat_chatmessage a WHERE a.session_id = u.session_id AND a.role = 'assistant'
            AND a.state = 'complete' AND a.id > u.id)
        """,
    )[0]
    problems = query(url, "SELECT DISTINCT problem FROM chat_chatmessage WHERE state = 'interrupted'")
    names = ("user messages", "complete replies", "other text", "interrupted", "generating")
    counts = dict(zip(names, counts, strict=True)) | {"unanswered messages": unanswered}
    return counts | ({"problems": [problem for (problem,) in problems]} if problems else {})


def measure(config: Config, db: BenchDatabase, tutor: FakeTutorServer, args, heartbeat: Scenario) -> None:
    lens, segment = chat_lens(db.url)
    query(db.url, "DELETE FROM chat_chatmessage")
    query(db.url, "DELETE FROM chat_chatsession")
    os.environ.update(config.env)
    print(f"\n== {config.label}", flush=True)
    with Server(db, production_config=True, output=subprocess.DEVNULL) as server:
        wrk(server, heartbeat, connections=args.connections, seconds=2)  # warm-up
        load_before = load_average()
        floor = wrk(server, heartbeat, connections=args.connections, seconds=args.seconds)
        figures, stop = ChatFigures(), threading.Event()
        chatters = [
            threading.Thread(target=chat_loop, args=(server.port, lens, segment, stop, figures), daemon=True)
            for _ in range(args.chatters)
        ]
        cpu_before = descendants_cpu(server.cpu_roots)
        started = time.monotonic()
        for chatter in chatters:
            chatter.start()
        time.sleep(args.ramp)  # every chatter has sent and is streaming before heartbeats are measured
        loaded = wrk(server, heartbeat, connections=args.connections, seconds=args.seconds)
        load_during = load_average()
        stop.set()
        for chatter in chatters:
            chatter.join(timeout=180)
        elapsed = time.monotonic() - started
        cpu = descendants_cpu(server.cpu_roots) - cpu_before
        counts = audit(db.url, "".join(tutor.script.action.pieces).strip())
    reply_s = len(tutor.script.action.pieces) * tutor.script.action.delay
    print(f"load average {load_before:.2f} before, {load_during:.2f} during")
    print(f"heartbeat, {args.connections} connections   {'req/s':>7} {'p50 ms':>7} {'p99 ms':>8} {'errors':>6}")
    for name, run in (("floor (no chats)", floor), (f"while {args.chatters} learners chat", loaded)):
        print(f"  {name:<30} {run.rps:>7.0f} {run.p50_ms:>7.1f} {run.p99_ms:>8.1f} {run.errors:>6}")
    print(
        f"chats ({reply_s:.1f} s replies): {figures.sends} sent, {len(figures.refused)} refused"
        f" {sorted(set(figures.refused))}, {figures.done} streamed to the end, {len(figures.failed)} failed"
        f" {sorted(set(figures.failed))}\n"
        f"  send p50/p99 {percentile(figures.send_ms, 50):.0f}/{percentile(figures.send_ms, 99):.0f} ms;"
        f" first piece p50/p99 {percentile(figures.first_ms, 50):.0f}/{percentile(figures.first_ms, 99):.0f} ms;"
        f" whole reply p50/p99 {percentile(figures.whole_s, 50):.1f}/{percentile(figures.whole_s, 99):.1f} s\n"
        f"  server + PostgreSQL CPU {cpu / elapsed:.2f} cores over {elapsed:.0f} s"
    )
    lost = counts["user messages"] - counts["complete replies"]
    print(f"database: {counts}; replies lost: {lost}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", default=DEFAULT_CONFIGS, help=f"comma-separated ({DEFAULT_CONFIGS})")
    parser.add_argument("--chatters", type=int, default=200)
    parser.add_argument("--connections", type=int, default=16, help="heartbeat connections (16)")
    parser.add_argument("--seconds", type=float, default=10, help="each heartbeat measurement (10)")
    parser.add_argument("--pieces", type=int, default=20, help="pieces of each reply (20)")
    parser.add_argument("--delay", type=float, default=0.25, help="seconds before each piece (0.25)")
    parser.add_argument("--ramp", type=float, default=3, help="seconds between starting the chats and measuring")
    args = parser.parse_args()
    configs = [parse_config(text) for text in args.configs.split(",")]
    print(f"machine: {machine()}; load average {load_average():.2f}", flush=True)
    # The fake model's listen queue must hold every generator connecting at once (the default is 5).
    http.server.ThreadingHTTPServer.request_queue_size = 1024
    tutor = FakeTutorServer()
    tutor.script = Always(Stream(pieces=[f"piece {n} " for n in range(args.pieces)], delay=args.delay))
    tutor.start()
    os.environ.update(
        {
            "TUTOR_BASE_URL": tutor.base_url,
            "TUTOR_MODEL": "fake",
            "CHAT_RATE_LIMIT_MESSAGES": "100000",
            "GUNICORN_TIMEOUT": "120",
        }
    )
    try:
        with database(max_connections=args.chatters * 2 + 300) as db, tempfile.TemporaryDirectory() as tmp:
            lens, _ = chat_lens(db.url)
            tokens, items = Path(tmp, "tokens"), Path(tmp, "items")
            tokens.write_text("\n".join(str(uuid.uuid4()) for _ in range(1000)) + "\n")
            items.write_text(f"{lens} module\n")
            env = {"BENCH_LUA_DIR": str(LUA), "BENCH_TOKENS": str(tokens), "BENCH_ITEMS": str(items)}
            heartbeat = Scenario("POST /api/progress/time", "heartbeat.lua", "/api/progress/time", env)
            for config in configs:
                for _attempt in (1, 2):  # a server may not start within 30 s on a busy machine: once more
                    try:
                        measure(config, db, tutor, args, heartbeat)
                        break
                    except RuntimeError as error:
                        print(f"{config.label}: {error} (load average {load_average():.2f})", flush=True)
    finally:
        tutor.stop()


if __name__ == "__main__":
    main()
