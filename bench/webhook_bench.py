"""Benchmark of content delivery: how fast the push webhook answers, and how long a push takes to be live.

    .venv/bin/python bench/webhook_bench.py [--requests 300] [--vault PATH]

Starts its own throwaway PostgreSQL and a production gunicorn (gunicorn.conf.py), and a bare repository
(`git init --bare` in a temporary folder) holding the vault (the real one at ../shared/corpora/
lens-edu-relay when it is there, else content/; copied only into that temporary folder). Then:

1. answer time: `--requests` signed GitHub pushes, one after another, each a new delivery id, next to the
   floor measured in the same run: as many `GET /healthz` (the cheapest request the server answers). The
   goal is under a second; the webhook only records the delivery and queues a job.
2. push to live: with one `manage.py worker` running, a commit retitling a lens is pushed and the webhook
   called; the time until the lens has its new title in the registry, next to the time `sync_content`
   of the same vault takes on its own (the floor: fetching and syncing cannot be skipped).

Prints the figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import Server, base_env, bench_database, machine, setup_django  # noqa: E402
from devtools.corpus import real_vault  # noqa: E402

SECRET = "bench-webhook-secret"
GIT_ENV = {"GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "b@example.org", "GIT_COMMITTER_NAME": "Bench"}
GIT_ENV |= {"GIT_COMMITTER_EMAIL": "b@example.org", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env=os.environ | GIT_ENV, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(done.stderr)
    return done.stdout.strip()


def push(url: str, sha: str) -> float:
    """POST one signed GitHub push; returns the seconds until the answer (which must be 202)."""
    body = json.dumps({"ref": "refs/heads/main", "after": sha}).encode()
    request = urllib.request.Request(url + "/hooks/content", data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("X-GitHub-Event", "push")
    request.add_header("X-GitHub-Delivery", str(uuid.uuid4()))
    request.add_header("X-Hub-Signature-256", "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest())
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202, response.status
        response.read()
    return time.perf_counter() - started


def healthz(url: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(url + "/healthz", timeout=10) as response:
        response.read()
    return time.perf_counter() - started


def describe(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    median, worst = statistics.median(ordered), ordered[-1]
    return f"median {median * 1000:6.1f} ms, p95 {p95 * 1000:6.1f} ms, max {worst * 1000:6.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--vault", type=Path, default=None)
    options = parser.parse_args()
    vault = options.vault or real_vault() or ROOT / "content"
    print(f"Machine: {machine()}; vault: {vault}")
    with tempfile.TemporaryDirectory(prefix="webhook-bench-") as folder, bench_database() as db:
        tmp = Path(folder)
        origin, work = tmp / "origin.git", tmp / "work"
        git(tmp, "init", "--quiet", "--bare", "--initial-branch=main", str(origin))
        shutil.copytree(vault, work, ignore=shutil.ignore_patterns(".git"))
        git(work, "init", "--quiet", "--initial-branch=main")
        git(work, "add", "--all")
        git(work, "commit", "--quiet", "-m", "The vault")
        git(work, "push", "--quiet", str(origin), "main")
        os.environ |= {
            "CONTENT_GIT_URL": f"file://{origin}",
            "CONTENT_GIT_CACHE_DIR": str(tmp / "cache"),
            "CONTENT_WEBHOOK_SECRET": SECRET,
        }
        env = base_env(db.url)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "manage.py", "sync_content"], cwd=ROOT, env=env, check=False, capture_output=True
        )
        cold = time.perf_counter() - started
        with Server(db, production_config=True, output=subprocess.DEVNULL) as app:
            head = git(work, "rev-parse", "HEAD")
            for _ in range(10):  # warm both paths up
                push(app.url, head), healthz(app.url)
            hooks = [push(app.url, head) for _ in range(options.requests)]
            floor = [healthz(app.url) for _ in range(options.requests)]
            print(f"\n1. Answer time, {options.requests} requests one after another ({app.description}):")
            print(f"   POST /hooks/content (signed push): {describe(hooks)}")
            print(f"   GET /healthz (floor):              {describe(floor)}")

            setup_django(db.url)
            from django_tasks_db.models import DBTaskResult

            from content_loader.models import ContentItem

            worker = subprocess.Popen(
                [sys.executable, "manage.py", "worker", "--no-reload", "--interval", "1"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                while DBTaskResult.objects.filter(status__in=["READY", "RUNNING"]).exists():
                    time.sleep(0.2)  # the sync queued by the pushes above
                lens = next(
                    p for p in sorted((work / "Lenses").glob("*.md")) if re.search(r"(?m)^title: ", p.read_text())
                )
                title = f"Retitled {uuid.uuid4().hex[:6]}"
                lens.write_text(re.sub(r"(?m)^title: .*$", f"title: {title}", lens.read_text(), count=1))
                git(work, "commit", "--quiet", "-am", "Retitle a lens")
                git(work, "push", "--quiet", str(origin), "main")
                started = time.perf_counter()
                push(app.url, git(work, "rev-parse", "HEAD"))
                while not ContentItem.objects.filter(title=title).exists():
                    time.sleep(0.05)
                live = time.perf_counter() - started
            finally:
                worker.terminate()
                worker.wait(timeout=30)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "manage.py", "sync_content"], cwd=ROOT, env=env, check=False, capture_output=True
        )
        resync = time.perf_counter() - started
        print("\n2. Push to live (one worker polling every second):")
        print(f"   webhook to the new title in the registry: {live:5.2f} s")
        print(f"   sync_content of the same vault, no change (floor): {resync:5.2f} s (cold, first: {cold:5.2f} s)")


if __name__ == "__main__":
    main()
