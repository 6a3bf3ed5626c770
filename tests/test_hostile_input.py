"""Hostile input never causes a 500 or a partial write (property-based, with hypothesis).

Random and malformed bodies (bytes, broken JSON, any JSON, bodies built from the real field names with
hostile values: huge numbers, NaN, unicode, NUL, lone surrogates), random headers and tokens, and
oversized payloads go to every JSON endpoint and every chat endpoint. Each answer must be below 500 and
among the statuses the endpoint documents; a refused request must leave every learner table exactly as
it was.
"""

import json
import uuid

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.tests.factories import UserFactory
from chat import replies
from chat.models import ChatMessage, ChatSession, QuestionAnswer
from progress.api.plumbing import MAX_BODY_BYTES
from progress.models import ClaimedToken, UserContentProgress
from tests.conftest import QUESTION_KEY, csrf_client, csrf_header

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

FUZZ = hypothesis_settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def snapshot() -> list:
    """Every learner row, as plain values."""
    return [
        sorted(UserContentProgress.objects.values_list()),
        sorted(ClaimedToken.objects.values_list()),
        sorted(ChatSession.objects.values_list()),
        sorted(ChatMessage.objects.values_list()),
        sorted(QuestionAnswer.objects.values_list()),
    ]


def body_bytes(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


# Strategies

HUGE = st.sampled_from([2**31, 2**31 - 1, 2**63, 2**64, -(2**63) - 1, 10**400, -1, 0, 1, 3600, 3601, 86401])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    HUGE,
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.sampled_from(
        ["\x00", "\ud800", "a\udfffb", "NaN", "1e309", "-0", "", " ", "\u202e", "\U0001d54f" * 300, "x" * 501]
    ),
)
UUIDS = st.one_of(st.uuids().map(str), st.uuids().map(lambda u: f" {u} "), st.uuids().map(lambda u: str(u).upper()))
FIELD_VALUES = st.one_of(SCALARS, UUIDS, st.sampled_from(["lens", "module", "lo", "test", "course", "LENS"]))
JSON_VALUES = st.recursive(
    SCALARS, lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
)
FIELDS = [
    "content_id",
    "content_type",
    "content_title",
    "time_spent_s",
    "time_delta_s",
    "module_slug",
    "session_token",
    "csrfmiddlewaretoken",
]
FIELD_OBJECTS = st.fixed_dictionaries({}, optional={name: st.one_of(FIELD_VALUES, JSON_VALUES) for name in FIELDS})


def _dumps(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


BODIES = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda text: text.encode("utf-8", "surrogatepass")),
    JSON_VALUES.map(_dumps),
    FIELD_OBJECTS.map(_dumps),
    FIELD_OBJECTS.map(lambda fields: _dumps(fields)[:-1]),  # cut short
    st.just(b"[" * 100_000 + b"]" * 100_000),  # deep nesting, over 64 KiB: refused before parsing
    st.just(b'{"a":' * 5000 + b"1" + b"}" * 5000),  # deep nesting under 64 KiB
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "multipart/form-data; boundary=xyz",
        "application/json; charset=latin-1",
        "application/json; charset=nonsense",
        "",
        "garbage/garbage",
    ]
)
HEADER_TEXT = st.text(st.characters(max_codepoint=255, blacklist_characters="\r\n"), max_size=60)
TOKENS = st.one_of(st.none(), UUIDS, HEADER_TEXT)


# The JSON API

API_STATUSES = {
    "/api/progress/complete": {200, 400, 401, 403, 413, 429},
    "/api/progress/time": {204, 400, 401, 403, 404, 413},
    "/api/progress/claim": {200, 400, 401, 403, 409, 413},
    "/api/progress/completed": {200, 401, 413},
    "/api/modules/{slug}/progress": {200, 401, 404, 413},
    "/api/courses/{slug}/progress": {200, 401, 404, 413},
}


@pytest.fixture
def identities(course):
    """Ways of knocking: nothing, a header token, a learner cookie, a session (each with or without CSRF)."""
    user = UserFactory(username="fuzzed")
    logged_in = csrf_client(user)
    cookie = csrf_client()
    cookie.cookies[settings.PROGRESS_COOKIE_NAME] = str(uuid.uuid4())
    return {"none": Client(enforce_csrf_checks=True), "cookie": cookie, "session": logged_in}


@given(
    endpoint=st.sampled_from(sorted(API_STATUSES)),
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]),
    body=BODIES,
    content_type=CONTENT_TYPES,
    token=TOKENS,
    identity=st.sampled_from(["none", "cookie", "session"]),
    with_csrf=st.booleans(),
    slug=st.one_of(st.text(max_size=40), st.sampled_from(["isolation-module", "isolation-course"])),
)
@FUZZ
def test_json_api_never_fails_on_hostile_requests(
    identities, course, endpoint, method, body, content_type, token, identity, with_csrf, slug
):
    """Any method, body, content type, token and identity: a documented status, a JSON error for every
    refusal, and no change to any learner row when refused."""
    client = identities[identity]
    path = endpoint.replace("{slug}", slug.replace("/", "-") or "x")
    extra = {}
    if token is not None:
        extra["HTTP_X_SESSION_TOKEN"] = token
    if with_csrf and "csrftoken" in client.cookies:
        extra.update(csrf_header(client))
    before = snapshot()
    response = client.generic(method, path, body, content_type=content_type, **extra)
    assert response.status_code in API_STATUSES[endpoint] | {405}, response.content[:300]
    if response.status_code >= 400:
        assert response["Content-Type"] == "application/json"
        assert response.json()["error"]
        assert snapshot() == before


@pytest.mark.parametrize("path", ["/api/progress/complete", "/api/progress/time", "/api/progress/claim"])
def test_bodies_over_64_kib_are_413_before_anything_is_read(path, course):
    """A body one byte over 64 KiB is 413 with a JSON error, whatever it holds; one at the limit is read."""
    client = Client()
    token = str(uuid.uuid4())
    fields = {"content_id": str(course.lenses[1].pk), "content_type": "lens", "time_delta_s": 5}
    padding = MAX_BODY_BYTES - len(json.dumps({**fields, "pad": ""}))
    at_limit = json.dumps({**fields, "pad": "x" * padding})
    over = json.dumps({**fields, "pad": "x" * (padding + 1)})
    assert len(at_limit) == MAX_BODY_BYTES and len(over) == MAX_BODY_BYTES + 1
    before = snapshot()
    response = client.post(path, over, content_type="application/json", HTTP_X_SESSION_TOKEN=token)
    assert response.status_code == 413 and "64 KiB" in response.json()["error"]
    assert snapshot() == before
    response = client.post(path, at_limit, content_type="application/json", HTTP_X_SESSION_TOKEN=token)
    assert response.status_code != 413


@pytest.mark.parametrize("length", ["99999999999999999999", "-1", "abc", "1e3"])
def test_a_lying_content_length_is_refused(length, course):
    """A Content-Length that is huge, negative or not a number is refused (413 or 400), never a 500."""
    client = Client()
    before = snapshot()
    response = client.post(
        "/api/progress/time",
        b"{}",
        content_type="application/json",
        HTTP_X_SESSION_TOKEN=str(uuid.uuid4()),
        CONTENT_LENGTH=length,
    )
    assert response.status_code in {400, 413}
    assert snapshot() == before


# The chat endpoints

CHAT_STATUSES = {200, 303, 400, 403, 404, 405, 409, 413, 429, 503}
FORM_BODIES = st.one_of(
    st.binary(max_size=300),
    st.dictionaries(
        st.sampled_from(["text", "next", "feedback_url", "csrfmiddlewaretoken", "x"]),
        st.one_of(st.text(max_size=300), st.sampled_from(["\x00", "x" * 5000, "//evil.example", "javascript:x"])),
        max_size=4,
    ).map(lambda fields: "&".join(f"{k}={quote(v)}" for k, v in fields.items()).encode()),
    st.sampled_from([b"text=%ED%A0%80", b"text=%00", b"text=%", b"text=%zz&&&==", b"text=" + b"x" * 70_000]),
)


def quote(value: str) -> str:
    from urllib.parse import quote_plus

    return quote_plus(value.encode("utf-8", "surrogatepass"))


@pytest.fixture
def chat_paths(course):
    lens = course.lenses[0]
    chat = {"lens_id": lens.pk, "segment_index": 1}
    return {
        "send": reverse("chat:send", kwargs=chat),
        "reply": reverse("chat:reply", kwargs=chat),
        "new": reverse("chat:new", kwargs=chat),
        "answer": course.url("answer", lens, question_key=QUESTION_KEY),
        "feedback": course.url("feedback", lens, question_key=QUESTION_KEY),
        "other segment": reverse("chat:send", kwargs={**chat, "segment_index": 7}),
        "other question": course.url("answer", lens, question_key="nope"),
    }


@pytest.mark.django_db(transaction=True)  # the views call the tutor outside any transaction
@given(
    name=st.sampled_from(["send", "reply", "new", "answer", "feedback", "other segment", "other question"]),
    body=FORM_BODIES,
    content_type=st.sampled_from(
        ["application/x-www-form-urlencoded", "multipart/form-data; boundary=b", "text/plain"]
    ),
    token=TOKENS,
    htmx=st.booleans(),
    stream=st.booleans(),
)
@FUZZ
def test_chat_endpoints_never_fail_on_hostile_requests(
    chat_paths, course, tutor_server, settings, name, body, content_type, token, htmx, stream
):
    """Any form body (broken encoding, NUL, huge text, hostile `next`), any token, htmx or not: never a
    5xx other than the tutor's documented 503, and a refused request writes nothing."""
    settings.CHAT_RATE_LIMIT_MESSAGES = 10**6
    client = Client()
    extra = {"HTTP_X_SESSION_TOKEN": token} if token is not None else {}
    if htmx:
        extra["HTTP_HX_REQUEST"] = "true"
    if stream:
        extra["HTTP_ACCEPT"] = "application/x-ndjson"
    # A reply an earlier example started is written by its own thread; let it land before looking.
    assert replies.wait_for_all(timeout=10)
    before = snapshot()
    response = client.generic("POST", chat_paths[name], body, content_type=content_type, **extra)
    content = body_bytes(response)
    assert response.status_code in CHAT_STATUSES, (response.status_code, content[:300])
    assert b'"event": "error"' not in content or b"tutor" in content.lower()
    if response.status_code >= 400:
        assert replies.wait_for_all(timeout=10)
        assert snapshot() == before, (name, response.status_code, content[:300], body[:200], token, htmx, stream)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", ["send", "answer", "feedback"])
def test_chat_bodies_over_the_upload_limit_are_refused(chat_paths, course, tutor_server, name):
    """A form body over Django's upload limit (2.5 MB) is a 400, not a 500, and writes nothing."""
    client = csrf_client()
    client.cookies[settings.PROGRESS_COOKIE_NAME] = str(uuid.uuid4())
    before = snapshot()
    body = b"text=" + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)
    response = client.generic(
        "POST", chat_paths[name], body, content_type="application/x-www-form-urlencoded", **csrf_header(client)
    )
    assert response.status_code in {400, 413}
    assert snapshot() == before


@given(session_id=st.integers(min_value=-(2**70), max_value=2**70), token=TOKENS)
@FUZZ
def test_conversation_ids_of_any_size_are_404(victims, session_id, token):
    """A conversation id of any size (beyond bigint too) is a 404 unless it is the learner's own."""
    client = Client()
    extra = {"HTTP_X_SESSION_TOKEN": token} if token is not None else {}
    response = client.get(f"/chat/conversations/{session_id}/", **extra)
    assert response.status_code in {403, 404}


@pytest.mark.parametrize("name", ["send", "answer", "feedback"])
def test_a_nul_character_in_chat_text_is_a_400(chat_paths, course, tutor_server, name):
    """PostgreSQL cannot store NUL in text: the message or answer is refused with a reason, not a 500."""
    client = Client()
    before = snapshot()
    response = client.post(
        chat_paths[name], {"text": "before\x00after"}, HTTP_X_SESSION_TOKEN=str(uuid.uuid4()), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 400 and b"NUL character" in response.content
    assert snapshot() == before
