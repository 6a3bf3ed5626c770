"""The production server as `make serve` runs it: collectstatic, then gunicorn with whitenoise."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.appserver import AppServer
from devtools.pgcluster import free_port
from ops.tests.helpers import fetch

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def collected(tmp_path_factory) -> Path:
    """STATIC_ROOT after `manage.py collectstatic` with production storage (hashed, compressed files)."""
    root = tmp_path_factory.mktemp("staticfiles")
    env = {
        **{k: v for k, v in os.environ.items() if k != "DEBUG"},
        "DJANGO_SETTINGS_MODULE": "courseplatform.settings",
        "STATICFILES_MANIFEST": "true",
        "STATIC_ROOT": str(root),
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    return root


@pytest.fixture(scope="module")
def server(collected):
    """gunicorn with the collected files; no database is needed to serve them (none is listening)."""
    nowhere = f"postgres://postgres@127.0.0.1:{free_port()}/postgres"
    env = {"STATICFILES_MANIFEST": "true", "STATIC_ROOT": str(collected)}
    with AppServer(database_url=nowhere, env=env) as app:
        yield app


def test_hashed_static_files_are_cached_for_good_and_compressed(collected, server):
    """A file under its hashed name is served with a far-future immutable cache and gzip when asked."""
    manifest = json.loads((collected / "staticfiles.json").read_text())
    hashed = manifest["paths"]["admin/css/base.css"]
    assert hashed != "admin/css/base.css"
    answer = fetch(f"{server.url}/static/{hashed}", headers={"Accept-Encoding": "gzip"})
    assert answer.status == 200
    assert answer.headers["content-encoding"] == "gzip"
    assert "immutable" in answer.headers["cache-control"]
    assert "max-age=315360000" in answer.headers["cache-control"]


def test_one_json_line_per_request_and_no_access_log(server):
    """The server writes the application's JSON line for each request and no gunicorn access log line."""
    marker = "/static/admin/img/icon-yes.svg"
    for _ in range(3):
        assert fetch(f"{server.url}{marker}").status == 200
    lines = server.output().splitlines()
    logged = [json.loads(line) for line in lines if line.startswith("{")]
    assert [line["status"] for line in logged if line.get("path") == marker] == [200, 200, 200]
    assert not [line for line in lines if f'"GET {marker}' in line]  # gunicorn's access-log format


def test_local_proxy_https_is_believed_and_plain_http_redirected():
    """Behind a proxy on the same host, gunicorn believes its X-Forwarded-Proto: https requests are not
    redirected again, plain HTTP ones are sent to HTTPS, and /healthz answers either way."""
    nowhere = f"postgres://postgres@127.0.0.1:{free_port()}/postgres"
    with AppServer(database_url=nowhere, env={"SECURE_SSL_REDIRECT": "true"}) as app:
        plain = fetch(f"{app.url}/admin/")
        assert plain.status == 301
        assert plain.headers["location"].startswith("https://")
        proxied = fetch(f"{app.url}/admin/", headers={"X-Forwarded-Proto": "https"})
        assert proxied.status == 302
        assert proxied.headers["location"] == "/admin/login/?next=/admin/"
        assert "strict-transport-security" in proxied.headers
        assert fetch(f"{app.url}/healthz").status == 503  # no database here, but no redirect either
