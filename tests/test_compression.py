"""Pages and JSON are gzipped for clients that accept it; the tutor's streamed reply is not (it must stream)."""

import gzip
import json

import pytest
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import UserFactory
from chat.tests.factories import chat_lens_body
from chat.tests.fake_tutor import Stream
from content_loader.tests.factories import LensFactory

GZIP = {"HTTP_ACCEPT_ENCODING": "gzip, deflate, br"}


def vary(response) -> set[str]:
    return {v.strip().lower() for v in response.get("Vary", "").split(",") if v.strip()}


@pytest.mark.django_db
def test_html_pages_are_gzipped_when_accepted(client):
    """A page asked for with Accept-Encoding: gzip comes compressed, says Vary: Accept-Encoding, and unzips whole."""
    plain = client.get("/accounts/login/")
    zipped = client.get("/accounts/login/", **GZIP)
    assert "Content-Encoding" not in plain and "accept-encoding" in vary(plain)
    assert zipped["Content-Encoding"] == "gzip" and "accept-encoding" in vary(zipped)
    assert len(zipped.content) < len(plain.content)
    assert b"<h1>Log in</h1>" in gzip.decompress(zipped.content)
    # The learner-privacy headers survive (tests/test_caching.py checks them on every URL).
    assert {"cookie", "x-session-token"} <= vary(zipped)


@pytest.mark.django_db
def test_json_answers_are_gzipped_when_accepted(client):
    """A JSON answer (the API description) comes compressed and decodes to the same document."""
    plain = client.get("/api/openapi.json")
    zipped = client.get("/api/openapi.json", **GZIP)
    assert zipped["Content-Encoding"] == "gzip" and zipped["Content-Type"].startswith("application/json")
    assert json.loads(gzip.decompress(zipped.content)) == json.loads(plain.content)


@pytest.mark.django_db(transaction=True)
def test_the_streamed_reply_is_never_compressed(tutor_server):
    """The tutor's NDJSON reply streams as it is written: no gzip, even when the client accepts it."""
    tutor_server.script.append(Stream(["Good ", "question", "."]))
    lens = LensFactory(title="Corrigibility", body=chat_lens_body())
    client = Client()
    client.force_login(UserFactory())
    kwargs = {"lens_id": lens.pk, "segment_index": 1}
    sent = client.post(
        reverse("chat:send", kwargs=kwargs), {"text": "What is corrigibility?"}, HTTP_HX_REQUEST="true", **GZIP
    )
    assert sent.status_code == 200 and sent["Content-Encoding"] == "gzip"  # the fragment is an ordinary page
    reply = client.post(reverse("chat:reply", kwargs=kwargs), HTTP_ACCEPT="application/x-ndjson", **GZIP)
    assert reply.streaming and reply["Content-Type"] == "application/x-ndjson"
    assert "Content-Encoding" not in reply
    lines = [json.loads(line) for line in b"".join(reply.streaming_content).decode().splitlines() if line]
    assert "".join(e["text"] for e in lines if e["event"] == "delta") == "Good question."
