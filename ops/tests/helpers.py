"""Plain HTTP for the tests that talk to a live application server."""

import http.client
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    @property
    def text(self) -> str:
        return self.body.decode()


def fetch(url: str, *, method: str = "GET", headers: dict[str, str] | None = None, timeout: float = 30) -> Answer:
    """One request on a fresh connection; any status is an answer."""
    parts = urlsplit(url)
    started = time.monotonic()
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        return Answer(
            response.status, {k.lower(): v for k, v in response.getheaders()}, body, time.monotonic() - started
        )
    finally:
        connection.close()
