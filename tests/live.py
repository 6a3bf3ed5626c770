"""What the live tests share: a migrated throwaway cluster with the demo content, a browser-like HTTP
client that keeps cookies across servers, and load threads that record every answer they got.

The live tests run the production server (gunicorn with gunicorn.conf.py, DEBUG off) in a subprocess
against a PostgreSQL cluster of their own, so they check what the database holds with psycopg directly.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import psycopg

from devtools.pgcluster import ThrowawayPostgres

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery staple"


def manage(cluster: ThrowawayPostgres, *args: str, env: dict[str, str] | None = None) -> str:
    """Run a management command against the cluster (production settings, DEBUG off)."""
    environment = {
        **{k: v for k, v in os.environ.items() if k not in {"DEBUG", "DATABASE_URL"}},
        "DATABASE_URL": cluster.url,
        "DJANGO_SETTINGS_MODULE": "courseplatform.settings",
        **(env or {}),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@dataclass
class Site:
    """A migrated cluster holding the demo content and two accounts."""

    cluster: ThrowawayPostgres
    lenses: list[str]
    module_slug: str
    chat_lens: str = ""  # a lens with a chat segment, and that segment's index
    chat_segment: int = 0

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.cluster.url, autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()


def start_site(*, durable: bool) -> Site:
    """A cluster, migrated, with the demo course synced and the accounts `learner` and `other`."""
    cluster = ThrowawayPostgres(durable=durable).start()
    try:
        manage(cluster, "migrate", "--noinput")
        manage(cluster, "sync_content", str(ROOT / "content"))
        for username in ("learner", "other"):
            # A staff flag lets them use the admin's login form when the learners' one is not there.
            manage(
                cluster,
                "createsuperuser",
                "--noinput",
                f"--username={username}",
                f"--email={username}@example.org",
                env={"DJANGO_SUPERUSER_PASSWORD": PASSWORD},
            )
        site = Site(cluster, [], "")
        site.lenses = [
            str(row[0])
            for row in site.query(
                "SELECT id FROM content_loader_contentitem WHERE content_type = 'lens' ORDER BY source_path"
            )
        ]
        site.module_slug = site.query(
            "SELECT m.slug FROM content_loader_contentitem m JOIN content_loader_moduleentry e ON e.module_id = m.id "
            "WHERE m.content_type = 'module' GROUP BY m.slug ORDER BY count(*) DESC, m.slug LIMIT 1"
        )[0][0]
        for lens_id, body in site.query("SELECT id, body FROM content_loader_contentitem WHERE content_type = 'lens'"):
            chats = [segment["index"] for segment in body.get("segments", []) if segment.get("type") == "chat"]
            if chats:
                site.chat_lens, site.chat_segment = str(lens_id), chats[0]
                break
        return site
    except BaseException:
        cluster.stop()
        raise


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


@dataclass
class Browser:
    """Keeps cookies like a browser behind one load balancer: the same jar whichever server answers.

    Cookies marked Secure are sent anyway (the servers run DEBUG off but plain HTTP on loopback)."""

    cookies: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def request(
        self,
        base: str,
        method: str,
        path: str,
        *,
        body: bytes | str | dict | None = None,
        headers: dict[str, str] | None = None,
        form: bool = False,
        timeout: float = 15,
    ) -> Answer:
        parts = urlsplit(base)
        all_headers = {**self.headers, **(headers or {})}
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if isinstance(body, dict):
            body = urlencode(body) if form else json.dumps(body)
            all_headers.setdefault("Content-Type", "application/x-www-form-urlencoded" if form else "application/json")
        if isinstance(body, str):
            body = body.encode()
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            data = response.read()
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    cookie = SimpleCookie()
                    cookie.load(value)
                    for key, morsel in cookie.items():
                        if morsel["max-age"] == "0" or not morsel.value:
                            self.cookies.pop(key, None)
                        else:
                            self.cookies[key] = morsel.value
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
        finally:
            connection.close()

    def get(self, base: str, path: str, **kwargs) -> Answer:
        return self.request(base, "GET", path, **kwargs)

    def post(self, base: str, path: str, body=None, **kwargs) -> Answer:
        headers = dict(kwargs.pop("headers", None) or {})
        if "csrftoken" in self.cookies:
            headers.setdefault("X-CSRFToken", self.cookies["csrftoken"])
        return self.request(base, "POST", path, body=body, headers=headers, **kwargs)


LOGIN_PATH = "/accounts/login/"


def log_in(browser: Browser, base: str, username: str, password: str = PASSWORD, *, path: str = LOGIN_PATH) -> Answer:
    """Fill in the real login form: GET it (CSRF cookie and token), then POST it."""
    form = browser.get(base, path)
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', form.body)
    assert form.status == 200 and match, form.text[:500]
    fields = {"username": username, "password": password, "csrfmiddlewaretoken": match.group(1).decode()}
    return browser.request(base, "POST", path, body=fields, form=True, headers={"Referer": base + path})


# Load


@dataclass
class Record:
    kind: str  # "heartbeat" or "complete"
    token: str
    content_id: str
    status: int | None  # None: no HTTP answer (connection refused or reset)
    sent: float
    received: float
    body: bytes = b""


class Load:
    """Client threads, each an anonymous learner (X-Session-Token) alternating heartbeats of
    `delta` seconds on one lens with completions of fresh content ids, until `stop()`."""

    def __init__(self, base: str, *, clients: int, lens: str, delta: int = 120, pause: float = 0.01):
        self.base = base
        self.lens = lens
        self.delta = delta
        self.pause = pause
        self.tokens = [str(uuid.uuid4()) for _ in range(clients)]
        self.records: list[Record] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(token,), daemon=True) for token in self.tokens]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def _run(self, token: str) -> None:
        number = 0
        while not self._stop.is_set():
            if number % 2 == 0:
                kind, content_id = "heartbeat", self.lens
                path, body = "/api/progress/time", {"content_id": content_id, "time_delta_s": self.delta}
            else:
                kind, content_id = "complete", str(uuid.uuid4())
                path, body = "/api/progress/complete", {"content_id": content_id, "content_type": "lens"}
            sent = time.monotonic()
            try:
                browser = Browser(headers={"X-Session-Token": token})
                answer = browser.request(self.base, "POST", path, body=body, timeout=10)
                status, data = answer.status, answer.body
            except (OSError, http.client.HTTPException):  # refused, reset, or cut off mid-response: no answer
                status, data = None, b""
            with self._lock:
                self.records.append(Record(kind, token, content_id, status, sent, time.monotonic(), data))
            number += 1
            time.sleep(self.pause)

    def acknowledged(self, kind: str) -> list[Record]:
        success = 200 if kind == "complete" else 204
        return [r for r in self.records if r.kind == kind and r.status == success]


def heartbeat_bounds(records: list[Record], *, delta: int = 120) -> tuple[float, float]:
    """What acknowledged heartbeats of one learner on one lens imply for its credited seconds.

    The first heartbeat credits `delta` (at most the cap, 120 by default) and sets the row's clock;
    each later one credits the seconds since that clock plus at most 5 of slack and moves the clock by
    exactly what it credited, so the total is delta + (clock at the end - clock at the start), and the
    clock ends no earlier than the last acknowledged heartbeat was sent. So at least
    delta + (last sent - first answered) - 1 (whole seconds), and at most delta + (end - first sent) + 5.
    """
    first_answered = min(r.received for r in records)
    first_sent = min(r.sent for r in records)
    last_sent = max(r.sent for r in records)
    return delta + max(0.0, last_sent - first_answered) - 1, delta + (time.monotonic() - first_sent) + 5
