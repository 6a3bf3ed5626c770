"""The request log: one JSON line per request, naming the learner by kind and id only."""

import hashlib
import json
import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from ops.logs import JsonFormatter

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.django_db, pytest.mark.urls("ops.tests.urls")]


@pytest.fixture
def request_lines(caplog):
    """The request log lines written so far, as the configured formatter writes them, parsed back."""
    caplog.set_level(logging.INFO, logger="ops.requests")
    formatter = JsonFormatter()

    def lines() -> list[tuple[str, dict]]:
        records = [r for r in caplog.records if r.name == "ops.requests"]
        return [(formatter.format(r), json.loads(formatter.format(r))) for r in records]

    return lines


def test_one_line_per_request_with_its_fields(client, request_lines):
    """A request gives exactly one line: method, path without query string, status, duration, learner."""
    client.get("/healthz?email=someone@example.org")
    [(raw, line)] = request_lines()
    assert "\n" not in raw
    assert line["message"] == "request"
    assert line["level"] == "INFO"
    assert line["logger"] == "ops.requests"
    assert line["method"] == "GET"
    assert line["path"] == "/healthz"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["learner"] == "none"
    assert set(line) == {"time", "level", "logger", "message", "method", "path", "status", "duration_ms", "learner"}
    assert "someone@example.org" not in raw


def test_a_first_page_view_is_logged_as_the_learner_its_new_cookie_names(client, request_lines):
    """A visitor without a cookie gets the learner cookie on a page; the line names that new learner."""
    response = client.get("/ops-test/users")
    token = response.cookies["learner_token"].value
    [(raw, line)] = request_lines()
    assert line["learner"] == "anonymous"
    assert line["token_hash"] == hashlib.sha256(token.encode()).hexdigest()[:12]
    assert token not in raw


def test_anonymous_learner_is_a_short_hash_of_the_token(client, request_lines):
    """A token in X-Session-Token is logged as 12 hex digits of its SHA-256, never the token itself."""
    token = uuid.uuid4()
    client.get("/api/ops-test/users", headers={"X-Session-Token": str(token)})
    [(raw, line)] = request_lines()
    assert line["learner"] == "anonymous"
    assert line["token_hash"] == hashlib.sha256(str(token).encode()).hexdigest()[:12]
    assert str(token) not in raw and token.hex not in raw


def test_learner_cookie_counts_as_anonymous(client, request_lines):
    """The learner cookie names the same anonymous learner as the header: same hash."""
    token = uuid.uuid4()
    client.cookies["learner_token"] = str(token)
    client.get("/ops-test/users")
    [(_raw, line)] = request_lines()
    assert line["learner"] == "anonymous"
    assert line["token_hash"] == hashlib.sha256(str(token).encode()).hexdigest()[:12]


def test_garbage_token_counts_as_no_learner(client, request_lines):
    """Anything that is not a UUID is no token (as for the progress API), and is not logged."""
    client.get("/healthz", headers={"X-Session-Token": "'; DROP TABLE users; --"})
    [(raw, line)] = request_lines()
    assert line["learner"] == "none"
    assert "DROP TABLE" not in raw


def test_logged_in_learner_is_the_user_id_and_nothing_personal(client, request_lines):
    """A logged-in request logs the user id: no username, email or IP address, and the session wins."""
    user = get_user_model().objects.create_user("ada.lovelace", "ada@example.org", "correct horse battery")
    client.force_login(user)
    client.get("/ops-test/whoami", headers={"X-Session-Token": str(uuid.uuid4())}, REMOTE_ADDR="203.0.113.7")
    [(raw, line)] = request_lines()
    assert line["learner"] == "user"
    assert line["user_id"] == user.pk
    assert "token_hash" not in line
    for personal in ("ada.lovelace", "ada@example.org", "203.0.113.7", "127.0.0.1", client.cookies["sessionid"].value):
        assert personal not in raw


def test_server_errors_are_warnings(client, request_lines):
    """A 5xx answer is logged at WARNING, so LOG_LEVEL=WARNING keeps only the failures."""
    client.get("/api/ops-test/broken")
    [(_raw, line)] = request_lines()
    assert line["status"] == 503
    assert line["level"] == "WARNING"


def test_streamed_response_is_logged_when_its_stream_ends(client, request_lines):
    """A streamed reply is logged once, after its last chunk, so its duration covers the whole reply."""
    response = client.get("/ops-test/stream")
    assert request_lines() == []
    assert b"".join(response.streaming_content) == b"part 0\npart 1\npart 2\n"
    [(_raw, line)] = request_lines()
    assert line["path"] == "/ops-test/stream"
    assert line["status"] == 200
    assert line["streamed"] is True


def run_logging(env: dict[str, str]) -> subprocess.CompletedProcess:
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('ops.requests').info('request', extra={'status': 200, 'path': '/x'}); "
        "logging.getLogger('django.request').error('Internal Server Error: /x')"
    )
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "LOG_LEVEL"}}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "courseplatform.settings", **env},
        capture_output=True,
        text=True,
        check=True,
    )


def test_settings_send_json_lines_to_standard_output():
    """With the project's LOGGING, each record (Django's own too) is one JSON line on standard output."""
    result = run_logging({"DEBUG": "false"})
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(line["logger"], line["level"]) for line in lines] == [
        ("ops.requests", "INFO"),
        ("django.request", "ERROR"),
    ]
    assert lines[0]["status"] == 200 and lines[0]["path"] == "/x"
    assert result.stderr == ""


def test_log_level_comes_from_the_environment():
    """LOG_LEVEL=WARNING drops the INFO request lines and keeps the errors."""
    result = run_logging({"DEBUG": "false", "LOG_LEVEL": "warning"})
    assert [json.loads(line)["level"] for line in result.stdout.splitlines()] == ["ERROR"]
