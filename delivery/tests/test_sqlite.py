"""Content from git on the embedded SQLite default (what `make run` uses): the webhook, the worker, the record."""

import hashlib
import hmac
import json
import subprocess
import sys

import pytest

from delivery.tests.repos import ROOT, SLEEP_LENS_ID
from devtools.sqlite import manage, sqlite_env

pytestmark = pytest.mark.slow


def test_a_push_is_synced_through_the_webhook_and_the_worker_on_sqlite(content_repo, tmp_path):
    """On SQLite: sync_content from git, then a signed push to the webhook and `worker --batch` sync the
    retitle; both syncs are recorded."""
    env = sqlite_env(
        tmp_path,
        CONTENT_GIT_URL=content_repo.url,
        CONTENT_GIT_CACHE_DIR=str(tmp_path / "cache"),
        CONTENT_WEBHOOK_SECRET="on-sqlite",
        ALLOWED_HOSTS="testserver",
    )
    assert manage(env, "migrate", "--noinput").returncode == 0
    first = manage(env, "sync_content")
    assert first.returncode == 0, first.stderr
    sha = content_repo.retitle_sleep_lens("Retitled on SQLite")
    body = json.dumps({"ref": "refs/heads/main", "after": sha})
    signature = "sha256=" + hmac.new(b"on-sqlite", body.encode(), hashlib.sha256).hexdigest()
    script = f"""
import django; django.setup()
from django.test import Client
response = Client().post("/hooks/content", {body!r}, content_type="application/json",
    HTTP_X_GITHUB_EVENT="push", HTTP_X_GITHUB_DELIVERY="one", HTTP_X_HUB_SIGNATURE_256={signature!r})
print(response.status_code)
"""
    posted = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert posted.stdout.strip().splitlines()[-1] == "202", posted.stderr
    ran = manage(env, "worker", "--batch", "--no-reload", "--no-startup-delay")
    assert ran.returncode == 0, ran.stderr + ran.stdout
    check = f"""
import django; django.setup()
from content_loader.models import ContentItem
from delivery.models import ContentSync
print(ContentItem.objects.get(id={SLEEP_LENS_ID!r}).title)
import json; print(json.dumps([[s.status, s.commit_sha] for s in ContentSync.objects.order_by("pk")]))
"""
    result = subprocess.run([sys.executable, "-c", check], cwd=ROOT, env=env, capture_output=True, text=True)
    title, syncs = result.stdout.strip().splitlines()[-2:]
    assert title == "Retitled on SQLite", result.stderr
    assert json.loads(syncs)[0][0] == "succeeded"
    assert json.loads(syncs)[1] == ["succeeded", sha]
