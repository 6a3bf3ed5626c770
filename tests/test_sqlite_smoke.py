"""`make run` on the embedded SQLite default: migrate, sync the demo content, serve and render pages."""

import http.cookiejar
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from devtools.pgcluster import free_port
from devtools.sqlite import manage, sqlite_env

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_make_run_steps_work_on_sqlite(tmp_path):
    """Migrations, the demo content sync and the learner pages all work on the SQLite default."""
    env = sqlite_env(tmp_path)
    migrated = manage(env, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    synced = manage(env, "sync_content")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert "0 error(s)" in synced.stdout
    assert "0 changes" in manage(env, "sync_content").stdout

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                home = opener.open(f"{base}/", timeout=5).read().decode()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert "Learning That Sticks" in home
        overview = opener.open(f"{base}/courses/learning-that-sticks/", timeout=5).read().decode()
        assert "Why we forget" in overview and "Not started" in overview
        viewer = opener.open(f"{base}/courses/learning-that-sticks/modules/why-we-forget/", timeout=5)
        page = viewer.read().decode()
        assert viewer.status == 200 and "Mark complete" in page and "Welcome" in page
        # Search falls back to icontains on SQLite: the index was filled at sync (content_synced).
        found = opener.open(f"{base}/search/?q=forgetting", timeout=5).read().decode()
        assert "<mark>" in found and "The forgetting curve" in found.replace("<mark>", "").replace("</mark>", "")
    finally:
        server.terminate()
        server.wait(timeout=10)
