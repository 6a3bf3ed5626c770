"""Webhook deliveries as GitHub and GitLab send them."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from urllib.parse import urlencode

SECRET = "s3cret-for-tests"


def github_push(
    client, *, ref="refs/heads/main", after="a" * 40, delivery=None, secret=SECRET, body=None, event="push", form=False
):
    """POST a GitHub delivery (signed with `secret`, or unsigned when it is None; `form`: as a form field)."""
    raw = body if body is not None else json.dumps({"ref": ref, "after": after, "pusher": {"name": "ada"}}).encode()
    if form:
        raw = urlencode({"payload": raw.decode()}).encode()
    headers = {"HTTP_X_GITHUB_EVENT": event, "HTTP_X_GITHUB_DELIVERY": delivery or str(uuid.uuid4())}
    if secret is not None:
        headers["HTTP_X_HUB_SIGNATURE_256"] = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    content_type = "application/x-www-form-urlencoded" if form else "application/json"
    return client.post("/hooks/content", raw, content_type=content_type, **headers)


def gitlab_push(client, *, ref="refs/heads/main", after="b" * 40, token=SECRET, delivery=None):
    raw = json.dumps({"object_kind": "push", "ref": ref, "after": after, "user_username": "grace"}).encode()
    headers = {"HTTP_X_GITLAB_EVENT": "Push Hook", "HTTP_X_GITLAB_EVENT_UUID": delivery or str(uuid.uuid4())}
    if token is not None:
        headers["HTTP_X_GITLAB_TOKEN"] = token
    return client.post("/hooks/content", raw, content_type="application/json", **headers)
