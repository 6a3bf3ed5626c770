"""Reading a push webhook from GitHub or GitLab: authenticity and what it asks for. No database here.

GitHub signs the raw body (`X-Hub-Signature-256: sha256=HMAC-SHA256(secret, body)`); GitLab sends the
secret itself (`X-Gitlab-Token`). Both are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from urllib.parse import parse_qs

MAX_BODY_BYTES = 1024 * 1024
NO_COMMIT = "0" * 40  # `after` of a push that deleted the branch


class Refused(Exception):
    """The delivery is refused: `status` and a `reason` the sender's logs will show."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Delivery:
    origin: str  # "github" or "gitlab"
    event: str  # "push", "ping", or another event name
    delivery_id: str
    ref: str = ""
    after: str = ""
    pusher: str = ""

    @property
    def branch(self) -> str:
        return self.ref.removeprefix("refs/heads/") if self.ref.startswith("refs/heads/") else ""


def read_delivery(headers, body: bytes, secret: str) -> Delivery:
    """Authenticate and parse one delivery; raises `Refused` (403 bad signature, 400 malformed)."""
    if "X-GitHub-Event" in headers:
        _check_github_signature(headers.get("X-Hub-Signature-256", ""), body, secret)
        origin, event = "github", headers["X-GitHub-Event"].strip()
        delivery_id = headers.get("X-GitHub-Delivery", "").strip()
        if not delivery_id:
            raise Refused(400, "the X-GitHub-Delivery header is missing")
    elif "X-Gitlab-Event" in headers:
        if not hmac.compare_digest(headers.get("X-Gitlab-Token", "").encode(), secret.encode()):
            raise Refused(403, "the X-Gitlab-Token header does not match CONTENT_WEBHOOK_SECRET")
        origin = "gitlab"
        event = {"Push Hook": "push"}.get(headers["X-Gitlab-Event"].strip(), headers["X-Gitlab-Event"].strip())
        # GitLab 17.4+ sends an Idempotency-Key that stays the same when a delivery is retried.
        delivery_id = (headers.get("Idempotency-Key") or headers.get("X-Gitlab-Event-UUID") or "").strip()
    else:
        # No signature of either kind: refused like a bad one.
        raise Refused(403, "not a signed GitHub or GitLab delivery (no X-GitHub-Event or X-Gitlab-Event header)")
    if len(delivery_id) > 100:
        raise Refused(400, "the delivery id is longer than 100 characters")
    if event != "push":
        return Delivery(origin=origin, event=event, delivery_id=delivery_id)
    if origin == "github" and headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
        # GitHub's default content type for a new webhook: the JSON is in a `payload` form field.
        form = parse_qs(body.decode("utf-8", errors="replace"))
        if "payload" not in form:
            raise Refused(400, "the form body has no `payload` field (or set the content type to application/json)")
        body = form["payload"][0].encode()
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise Refused(400, "the body is not JSON (set the content type to application/json)") from None
    if not isinstance(payload, dict):
        raise Refused(400, "the body is not a JSON object")
    ref, after = payload.get("ref"), payload.get("after", "")
    if not isinstance(ref, str) or not ref:
        raise Refused(400, "the push has no `ref`")
    if not isinstance(after, str) or len(after) > 64:
        raise Refused(400, "the push's `after` is not a commit id")
    if origin == "github":
        pusher = payload["pusher"].get("name", "") if isinstance(payload.get("pusher"), dict) else ""
    else:
        pusher = payload.get("user_username", "")
    return Delivery(
        origin=origin,
        event="push",
        delivery_id=delivery_id,
        ref=ref[:255],
        after=after,
        pusher=pusher[:200] if isinstance(pusher, str) else "",
    )


def _check_github_signature(header: str, body: bytes, secret: str) -> None:
    if not header.startswith("sha256="):
        raise Refused(403, "the X-Hub-Signature-256 header is missing (set the webhook's secret)")
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(header.removeprefix("sha256=").strip().encode(), expected.encode()):
        raise Refused(403, "the X-Hub-Signature-256 signature does not match CONTENT_WEBHOOK_SECRET")
