"""The JSON API: the clients' calls end to end and every refusal."""

import json
import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import UserFactory
from chat.tests.factories import ChatMessageFactory, ChatSessionFactory, QuestionAnswerFactory, shared_question
from content_loader.models import SlugAlias
from content_loader.tests.factories import AssessmentFactory, LensFactory, make_course, make_module
from learners import Learner
from progress.models import UserContentProgress
from progress.services import complete_content
from progress.tests.factories import lenses_of, make_parent_module

pytestmark = pytest.mark.django_db


def post(client, path, body, *, token=None, content_type="application/json", **extra):
    if token is not None:
        extra["HTTP_X_SESSION_TOKEN"] = str(token)
    data = (
        json.dumps(body) if content_type != "application/x-www-form-urlencoded" and not isinstance(body, str) else body
    )
    return client.post(path, data, content_type=content_type, **extra)


def get(client, path, *, token=None):
    return client.get(path, **({"HTTP_X_SESSION_TOKEN": str(token)} if token else {}))


def lens_body(content_id=None, **fields):
    return {
        "content_id": str(content_id or uuid.uuid4()),
        "content_type": "lens",
        "content_title": "Test Lens",
        **fields,
    }


@pytest.fixture
def logged_in():
    """A client logged in by session cookie that enforces CSRF like a browser."""
    client = Client(enforce_csrf_checks=True)
    user = UserFactory()
    client.force_login(user)
    client.get("/admin/login/")  # any response that sets the csrftoken cookie
    client.user = user
    return client


def csrf(client) -> dict:
    client.cookies.get("csrftoken") or client.get("/admin/login/")
    return {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}


# The original client's calls, end to end


def test_anonymous_user_can_mark_complete(client):
    """An anonymous learner completes content with the X-Session-Token header."""
    response = post(client, "/api/progress/complete", lens_body(time_spent_s=60), token=uuid.uuid4())
    assert response.status_code == 200
    data = response.json()
    assert data["completed_at"] and data["module_status"] is None and data["module_progress"] is None


def test_authenticated_user_can_mark_complete(logged_in):
    """A logged-in learner completes content with the session cookie and the CSRF token, no token."""
    response = post(logged_in, "/api/progress/complete", lens_body(), **csrf(logged_in))
    assert response.status_code == 200
    assert UserContentProgress.objects.get().user_id == logged_in.user.pk


def test_claim_records(logged_in, client):
    """Records completed under a token are claimed by the logged-in account."""
    token = uuid.uuid4()
    post(client, "/api/progress/complete", lens_body(), token=token)
    response = post(logged_in, "/api/progress/claim", {"session_token": str(token)}, token=token, **csrf(logged_in))
    assert response.status_code == 200
    assert response.json()["progress_records_claimed"] >= 1
    assert response.json()["chat_sessions_claimed"] == 0


def test_time_update_endpoint(client):
    """A heartbeat answers 204."""
    token = uuid.uuid4()
    content_id = LensFactory().pk
    post(client, "/api/progress/complete", lens_body(content_id), token=token)
    response = post(client, "/api/progress/time", {"content_id": str(content_id), "time_delta_s": 60}, token=token)
    assert response.status_code == 204
    assert UserContentProgress.objects.get().total_time_spent_s == 60


def test_a_heartbeat_on_a_uuid_the_registry_does_not_know_is_404(client):
    """300 heartbeats on random UUIDs: each a 404 saying so, and not one row is made."""
    token = uuid.uuid4()
    for _ in range(300):
        response = post(
            client, "/api/progress/time", {"content_id": str(uuid.uuid4()), "time_delta_s": 60}, token=token
        )
        assert response.status_code == 404 and "has the UUID" in response.json()["error"]
    assert not UserContentProgress.objects.exists()


def test_forged_completion_time_is_not_credited(client):
    """`time_spent_s: 86400` on 30 lenses credits nothing: 0 seconds on every row, 0 on the module API."""
    module = make_module(lenses=30, slug="forged")
    token = uuid.uuid4()
    for lens in lenses_of(module):
        body = lens_body(lens.pk, time_spent_s=86_400)
        assert post(client, "/api/progress/complete", body, token=token).status_code == 200
    lenses = get(client, "/api/modules/forged/progress", token=token).json()["lenses"]
    assert [lens["timeSpentS"] for lens in lenses] == [0] * 30 and all(lens["completed"] for lens in lenses)


def test_a_claimed_token_is_dead_on_the_api(client, logged_in):
    """After an account claims a token, every API request carrying it is a 401 and reaches nothing of the
    account: its completions, heartbeats and reads never touch the account's rows."""
    module = make_module(lenses=2, slug="claimed")
    first, second = lenses_of(module)
    token = uuid.uuid4()
    assert post(client, "/api/progress/complete", lens_body(first.pk), token=token).status_code == 200
    claim = post(logged_in, "/api/progress/claim", {"session_token": str(token)}, token=token, **csrf(logged_in))
    assert claim.status_code == 200
    account_rows = list(UserContentProgress.objects.order_by("pk").values())

    attempts = [
        post(client, "/api/progress/complete", lens_body(second.pk), token=token),
        post(client, "/api/progress/time", {"content_id": str(first.pk), "time_delta_s": 60}, token=token),
        get(client, "/api/progress/completed", token=token),
        get(client, "/api/modules/claimed/progress", token=token),
    ]
    cookie_client = Client()
    cookie_client.cookies["learner_token"] = str(token)
    attempts.append(cookie_client.get("/api/progress/completed"))
    for response in attempts:
        assert response.status_code == 401 and "claimed by an account" in response.json()["error"]
    assert list(UserContentProgress.objects.order_by("pk").values()) == account_rows


def test_invalid_content_type_rejected(client):
    """content_type outside the four values is a 400."""
    response = post(client, "/api/progress/complete", lens_body(content_type="invalid"), token=uuid.uuid4())
    assert response.status_code == 400
    assert "content_type" in response.json()["error"]


def test_missing_auth_returns_401(client):
    """No session and no valid token is a 401 with a JSON error, and nothing is written."""
    response = post(client, "/api/progress/complete", lens_body())
    assert response.status_code == 401 and response.json()["error"]
    response = post(client, "/api/progress/complete", lens_body(), token="not-a-uuid")
    assert response.status_code == 401
    assert not UserContentProgress.objects.exists()


def test_module_progress_endpoint(client):
    """Module progress lists each lens with completion, time, and the learner's open chat."""
    token = uuid.uuid4()
    module = make_module(lenses=2, optional=1, slug="introduction")
    first = lenses_of(module)[0]
    post(client, "/api/progress/complete", lens_body(first.pk), token=token)
    chat = ChatSessionFactory(session_token=token, content_id=module.pk, content_type="module")
    ChatMessageFactory(session=chat)

    response = get(client, "/api/modules/introduction/progress", token=token)

    assert response.status_code == 200
    data = response.json()
    assert data["module"] == {"id": str(module.pk), "slug": "introduction", "title": module.title}
    assert (data["status"], data["progress"]) == ("in_progress", {"completed": 1, "total": 2})
    assert [lens["completed"] for lens in data["lenses"]] == [True, False, False]
    assert [lens["optional"] for lens in data["lenses"]] == [False, False, True]
    assert set(data["lenses"][0]) == {"id", "title", "type", "optional", "completed", "completedAt", "timeSpentS"}
    assert data["lenses"][0]["id"] == str(first.pk) and data["lenses"][0]["type"] == "lens"
    assert data["chatSession"] == {"sessionId": chat.pk, "hasMessages": True}


def test_module_progress_without_a_chat_creates_none(client):
    """chatSession is null when there is no conversation, and a GET never creates one."""
    make_module(lenses=1, slug="quiet")
    response = get(client, "/api/modules/quiet/progress", token=uuid.uuid4())
    assert response.json()["chatSession"] is None
    assert not UserContentProgress.objects.exists()


def test_module_progress_finds_submodules_and_slug_aliases(client):
    """Submodule slugs contain a slash; an earlier slug still finds the module."""
    parent, (part, _other) = make_parent_module(submodules=[1, 1], slug="big")
    SlugAlias.objects.create(content_type="module", slug="old-big", item=parent)
    token = uuid.uuid4()
    assert get(client, "/api/modules/big/part-1/progress", token=token).json()["module"]["id"] == str(part.pk)
    assert get(client, "/api/modules/old-big/progress", token=token).json()["progress"]["total"] == 2


def test_course_progress_endpoint(client):
    """Course progress lists units, each with its meeting and modules with status and k/n."""
    token = uuid.uuid4()
    first, second = make_module(lenses=2), make_module(lenses=1)
    course = make_course(units=[[first], [second]], slug="ai-safety")
    post(client, "/api/progress/complete", lens_body(lenses_of(first)[0].pk), token=token)
    response = get(client, "/api/courses/ai-safety/progress", token=token)
    assert response.status_code == 200
    data = response.json()
    assert data["course"] == {"id": str(course.pk), "slug": "ai-safety", "title": course.title}
    assert [unit["meeting"] for unit in data["units"]] == [{"title": "Meeting 1"}, {"title": "Meeting 2"}]
    module = data["units"][0]["modules"][0]
    assert module == {
        "id": str(first.pk),
        "slug": first.slug,
        "title": first.title,
        "optional": False,
        "status": "in_progress",
        "progress": {"completed": 1, "total": 2},
    }


def test_completed_ids_endpoint(client):
    """GET /api/progress/completed lists the learner's completed UUIDs."""
    token = uuid.uuid4()
    content_id = uuid.uuid4()
    post(client, "/api/progress/complete", lens_body(content_id), token=token)
    assert get(client, "/api/progress/completed", token=token).json() == {"content_ids": [str(content_id)]}


def test_completion_reports_the_module_it_finishes(client):
    """With module_slug, the response carries the module's status and k/n, and says when it was finished."""
    token = uuid.uuid4()
    module = make_module(lenses=2, slug="m")
    one, two = lenses_of(module)
    data = post(client, "/api/progress/complete", lens_body(one.pk, module_slug="m"), token=token).json()
    assert (data["module_status"], data["module_progress"]) == ("in_progress", {"completed": 1, "total": 2})
    data = post(client, "/api/progress/complete", lens_body(two.pk, module_slug="m"), token=token).json()
    assert (data["module_status"], data["module_progress"]) == ("completed", {"completed": 2, "total": 2})
    assert data["module_newly_completed"] is True


# Errors: each a JSON {"error": ...}, nothing written


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        "[1, 2]",
        '"a string"',
        "",
        "[" * 5000 + "]" * 5000,
        '{"content_id": "x", "time_delta_s": ' + "9" * 5000 + "}",
    ],
)
def test_malformed_bodies_are_400(client, body):
    """Malformed JSON, non-objects, empty bodies, deep nesting and huge numbers are 400s."""
    response = post(client, "/api/progress/time", body, token=uuid.uuid4())
    assert response.status_code == 400 and response.json()["error"]


@pytest.mark.parametrize(
    "fields",
    [
        {"content_id": "not-a-uuid"},
        {"content_id": 12},
        {"content_id": None},
        {"content_type": "course"},
        {"content_type": None},
        {"content_title": "x" * 501},
        {"content_title": 5},
        {"content_title": "bad\x00title"},
        {"content_title": "\ud800"},
        {"time_spent_s": -1},
        {"time_spent_s": "60"},
        {"time_spent_s": 1.5},
        {"time_spent_s": True},
        {"time_spent_s": 10**30},
        {"module_slug": ["a"]},
    ],
)
def test_bad_completion_fields_are_400(client, fields):
    """Missing, mistyped or out-of-range completion fields are 400s and write nothing."""
    response = post(client, "/api/progress/complete", {**lens_body(), **fields}, token=uuid.uuid4())
    assert response.status_code == 400, response.content
    assert response.json()["error"]
    assert not UserContentProgress.objects.exists()


@pytest.mark.parametrize("delta", [0, -5, 3601, 1.5, "60", True, None, 10**20])
def test_time_delta_must_be_an_integer_from_1_to_3600(client, delta):
    """time_delta_s outside 1..3600, or not an integer, is a 400."""
    response = post(
        client, "/api/progress/time", {"content_id": str(uuid.uuid4()), "time_delta_s": delta}, token=uuid.uuid4()
    )
    assert response.status_code == 400 and "time_delta_s" in response.json()["error"]
    assert not UserContentProgress.objects.exists()


def test_title_of_500_characters_is_accepted(client):
    """The 500-character limit is inclusive."""
    response = post(client, "/api/progress/complete", lens_body(content_title="x" * 500), token=uuid.uuid4())
    assert response.status_code == 200


@pytest.mark.parametrize(
    "path", ["/api/modules/nope/progress", "/api/courses/nope/progress", "/api/modules/a%00b/progress"]
)
def test_unknown_slugs_are_404(client, path):
    """An unknown module or course slug is a JSON 404."""
    response = get(client, path, token=uuid.uuid4())
    assert response.status_code == 404 and response.json()["error"]


def test_course_slug_does_not_find_a_module(client):
    """Slugs are looked up per type."""
    make_module(lenses=1, slug="shared-slug")
    assert get(client, "/api/courses/shared-slug/progress", token=uuid.uuid4()).status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/progress/complete"),
        ("put", "/api/progress/time"),
        ("get", "/api/progress/claim"),
        ("post", "/api/progress/completed"),
        ("delete", "/api/modules/x/progress"),
        ("post", "/api/courses/x/progress"),
    ],
)
def test_wrong_method_is_405(client, method, path):
    """Each URL accepts its method only, with an Allow header."""
    response = getattr(client, method)(path, HTTP_X_SESSION_TOKEN=str(uuid.uuid4()))
    assert response.status_code == 405 and response.json()["error"] and response["Allow"]


def test_body_over_64_kib_is_413(client):
    """A body over 64 KiB is refused before it is read."""
    body = lens_body(padding="x" * (64 * 1024))
    response = post(client, "/api/progress/complete", body, token=uuid.uuid4())
    assert response.status_code == 413 and response.json()["error"]
    assert not UserContentProgress.objects.exists()


def test_claim_needs_a_logged_in_user(client):
    """Claiming with only a token is a 401."""
    response = post(client, "/api/progress/claim", {"session_token": str(uuid.uuid4())}, token=uuid.uuid4())
    assert response.status_code == 401


def test_claim_needs_a_valid_token(logged_in):
    """A claim without a UUID session_token is a 400."""
    response = post(logged_in, "/api/progress/claim", {"session_token": "nope"}, **csrf(logged_in))
    assert response.status_code == 400


def test_claim_with_the_token_in_the_body_and_only_the_session_cookie(logged_in, client):
    """The original client's claimSessionRecords: the token in the body, session cookie, no header: claimed."""
    token = uuid.uuid4()
    post(client, "/api/progress/complete", lens_body(), token=token)
    QuestionAnswerFactory(session_token=token)

    response = post(logged_in, "/api/progress/claim", {"session_token": str(token)}, **csrf(logged_in))

    assert response.status_code == 200
    assert response.json()["progress_records_claimed"] == 1 and response.json()["answers_claimed"] == 1
    assert UserContentProgress.objects.get().user_id == logged_in.user.pk


def test_claim_with_the_token_in_the_header(logged_in, client):
    """The header form keeps working: the X-Session-Token the request carries is claimed without a body token."""
    token = uuid.uuid4()
    post(client, "/api/progress/complete", lens_body(), token=token)

    response = post(logged_in, "/api/progress/claim", {}, token=token, **csrf(logged_in))

    assert response.status_code == 200 and response.json()["progress_records_claimed"] == 1
    assert UserContentProgress.objects.get().user_id == logged_in.user.pk


def test_claim_in_the_body_still_needs_the_csrf_token(logged_in, client):
    """A body-token claim is authenticated by the session cookie, so a cross-site form without CSRF is 403."""
    token = uuid.uuid4()
    post(client, "/api/progress/complete", lens_body(), token=token)

    response = post(logged_in, "/api/progress/claim", {"session_token": str(token)})

    assert response.status_code == 403 and "CSRF" in response.json()["error"]
    assert UserContentProgress.objects.get().session_token == token


def test_claim_of_a_token_with_nothing_to_claim_is_200_with_zero_counts(logged_in):
    """A token that never wrote anything is claimed with every count at zero (not an error)."""
    response = post(logged_in, "/api/progress/claim", {"session_token": str(uuid.uuid4())}, **csrf(logged_in))

    assert response.status_code == 200
    assert response.json() == {
        "progress_records_claimed": 0,
        "chat_sessions_claimed": 0,
        "lenses_completed": 0,
        "seconds": 0,
        "seconds_not_kept": 0,
        "answers_claimed": 0,
        "roleplays_claimed": 0,
    }


def test_claim_of_a_token_another_account_claimed_is_409_and_moves_nothing(logged_in, client):
    """A token already claimed by account A, named by account B: 409 with a message; A keeps everything."""
    token = uuid.uuid4()
    post(client, "/api/progress/complete", lens_body(), token=token)
    first = Client(enforce_csrf_checks=True)
    owner = UserFactory()
    first.force_login(owner)
    assert post(first, "/api/progress/claim", {"session_token": str(token)}, **csrf(first)).status_code == 200
    # A late write under the old token (a copied cookie) belongs to the first account too.
    post(client, "/api/progress/complete", lens_body(), token=token)

    response = post(logged_in, "/api/progress/claim", {"session_token": str(token)}, **csrf(logged_in))

    assert response.status_code == 409 and "another account" in response.json()["error"]
    assert not UserContentProgress.objects.filter(user=logged_in.user).exists()
    assert UserContentProgress.objects.filter(user=owner).count() == 1


def test_claim_without_a_body_token_claims_the_cookie_token(logged_in, client):
    """An empty claim takes the learner cookie's token, claims it and rotates the cookie."""
    token = uuid.uuid4()
    post(client, "/api/progress/complete", lens_body(), token=token)
    logged_in.cookies["learner_token"] = str(token)

    response = post(logged_in, "/api/progress/claim", {}, **csrf(logged_in))

    assert response.status_code == 200 and response.json()["progress_records_claimed"] == 1
    assert UserContentProgress.objects.get().user_id == logged_in.user.pk
    assert response.cookies["learner_token"].value != str(token)


def test_claim_without_any_token_is_a_400(logged_in):
    """With no token in the body, the header or the cookie, there is nothing to claim."""
    response = post(logged_in, "/api/progress/claim", {}, **csrf(logged_in))
    assert response.status_code == 400 and response.json()["error"]


# CSRF


def test_session_requests_need_the_csrf_token(logged_in):
    """A write authenticated by the session cookie without the CSRF token is refused and writes nothing."""
    response = post(logged_in, "/api/progress/complete", lens_body())
    assert response.status_code == 403 and "CSRF" in response.json()["error"]
    response = post(logged_in, "/api/progress/time", {"content_id": str(uuid.uuid4()), "time_delta_s": 5})
    assert response.status_code == 403
    assert not UserContentProgress.objects.exists()


def test_session_requests_ignore_the_token_header_for_csrf(logged_in):
    """A logged-in browser adding an X-Session-Token header is still authenticated by its session: CSRF applies."""
    response = post(logged_in, "/api/progress/complete", lens_body(), token=uuid.uuid4())
    assert response.status_code == 403


def test_learner_cookie_requests_need_the_csrf_token():
    """A write authenticated by the learner cookie needs the CSRF token; with it, it passes."""
    client = Client(enforce_csrf_checks=True)
    client.cookies["learner_token"] = str(uuid.uuid4())
    assert post(client, "/api/progress/complete", lens_body()).status_code == 403
    assert post(client, "/api/progress/complete", lens_body(), **csrf(client)).status_code == 200


def test_header_requests_need_no_csrf_token():
    """A write authenticated by the X-Session-Token header alone needs no CSRF token."""
    client = Client(enforce_csrf_checks=True)
    assert post(client, "/api/progress/complete", lens_body(), token=uuid.uuid4()).status_code == 200


def test_get_requests_need_no_csrf_token(logged_in):
    """Reads are safe methods."""
    assert logged_in.get("/api/progress/completed").status_code == 200


# sendBeacon bodies


@pytest.fixture
def beacon_client():
    """A browser with a learner cookie and a CSRF cookie, enforcing CSRF."""
    client = Client(enforce_csrf_checks=True)
    client.cookies["learner_token"] = str(uuid.uuid4())
    csrf(client)
    return client


@pytest.mark.parametrize("content_type", ["application/json", "text/plain;charset=UTF-8", ""])
def test_beacon_json_with_the_csrf_token_inside(beacon_client, content_type):
    """A JSON Blob or text/plain beacon carrying csrfmiddlewaretoken in the JSON credits time."""
    lens = LensFactory()
    body = {
        "content_id": str(lens.pk),
        "time_delta_s": 12,
        "csrfmiddlewaretoken": beacon_client.cookies["csrftoken"].value,
    }
    response = post(beacon_client, "/api/progress/time", body, content_type=content_type)
    assert response.status_code == 204
    assert UserContentProgress.objects.get(content_id=lens.pk).total_time_spent_s == 12


def test_beacon_form_encoded_with_the_csrf_token(beacon_client):
    """A form-encoded beacon (URLSearchParams) with csrfmiddlewaretoken credits time."""
    lens = LensFactory()
    token = beacon_client.cookies["csrftoken"].value
    body = f"content_id={lens.pk}&time_delta_s=7&csrfmiddlewaretoken={token}"
    response = post(beacon_client, "/api/progress/time", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 204
    assert UserContentProgress.objects.get(content_id=lens.pk).total_time_spent_s == 7


def test_beacon_without_csrf_token_is_refused(beacon_client):
    """A cookie-authenticated beacon without the token is a cross-site forgery candidate: 403."""
    body = {"content_id": str(uuid.uuid4()), "time_delta_s": 12}
    response = post(beacon_client, "/api/progress/time", body, content_type="text/plain")
    assert response.status_code == 403
    form = f"content_id={uuid.uuid4()}&time_delta_s=abc"
    response = post(beacon_client, "/api/progress/time", form, content_type="application/x-www-form-urlencoded")
    assert response.status_code in (400, 403)
    assert not UserContentProgress.objects.exists()


# Query counts


def test_anonymous_heartbeat_runs_one_sql_statement(client, django_assert_num_queries):
    """The whole heartbeat request, middleware included, issues exactly one SQL statement."""
    lens = LensFactory()
    body = {"content_id": str(lens.pk), "time_delta_s": 30}
    with django_assert_num_queries(1):
        response = post(client, "/api/progress/time", body, token=uuid.uuid4())
    assert response.status_code == 204


def test_completion_request_queries_do_not_grow_with_module_size(client):
    """A completion request costs the same number of queries for a small and a large module."""
    counts = []
    for size in (2, 40):
        module = make_module(lenses=size)
        token = uuid.uuid4()
        for lens in lenses_of(module)[:-1]:
            complete_content(
                learner=Learner(session_token=token),
                content_id=lens.pk,
                content_type="lens",
            )
        with CaptureQueriesContext(connection) as queries:
            post(
                client,
                "/api/progress/complete",
                lens_body(lenses_of(module)[-1].pk, module_slug=module.slug),
                token=token,
            )
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_a_test_is_completed_only_once_its_questions_are_answered(client):
    """The API refuses to complete a test with an unanswered question (400, nothing written), then accepts it."""
    test = AssessmentFactory(body={"segments": [shared_question(index=0, key="aaaaaaaaaaaaaaaa")]})
    token = uuid.uuid4()
    body = {"content_id": str(test.pk), "content_type": "lens"}  # the registry's type wins: it is a test

    refused = post(client, "/api/progress/complete", body, token=token)
    assert refused.status_code == 400
    assert "Answer every question of this test" in refused.json()["error"]
    assert not UserContentProgress.objects.exists()

    QuestionAnswerFactory(session_token=token, content_id=test.pk, content_type="test", question_key="aaaaaaaaaaaaaaaa")
    accepted = post(client, "/api/progress/complete", body, token=token)
    assert accepted.status_code == 200
    assert UserContentProgress.objects.get().content_type == "test"


def test_completing_a_course_is_a_400(client):
    """A course's UUID is not completed directly: a clear 400, not a server error."""
    course = make_course(units=[[make_module(lenses=1)]])
    response = post(client, "/api/progress/complete", lens_body(course.pk), token=uuid.uuid4())
    assert response.status_code == 400
    assert "not completed directly" in response.json()["error"]
    assert not UserContentProgress.objects.exists()


def test_every_endpoint_runs_a_fixed_number_of_queries(client, logged_in):
    """Each API endpoint's whole request, middleware included, issues a fixed number of SQL statements for
    an anonymous learner (header token) and for an account (session cookie, whose session and user are
    read once), whatever the course's size."""
    counts = {}
    for size in (3, 30):  # the completion finishes no module either time: a finished one adds its row's upsert
        module = make_module(lenses=size)
        course = make_course(units=[[module]])
        lenses = lenses_of(module)
        token = uuid.uuid4()
        complete_content(learner=Learner(session_token=token), content_id=lenses[0].pk, content_type="lens")
        complete = lens_body(lenses[1].pk, module_slug=module.slug)
        beat = {"content_id": str(lenses[1].pk), "time_delta_s": 30}
        as_token, as_account = {"token": token}, csrf(logged_in)
        requests = [
            ("complete", post, client, "/api/progress/complete", complete, as_token),
            ("complete again", post, client, "/api/progress/complete", complete, as_token),
            ("time", post, client, "/api/progress/time", beat, as_token),
            ("completed", get, client, "/api/progress/completed", None, as_token),
            ("module", get, client, f"/api/modules/{module.slug}/progress", None, as_token),
            ("course", get, client, f"/api/courses/{course.slug}/progress", None, as_token),
            ("openapi", get, client, "/api/openapi.json", None, {}),
            ("account complete", post, logged_in, "/api/progress/complete", complete, as_account),
            ("account time", post, logged_in, "/api/progress/time", beat, as_account),
            ("claim", post, logged_in, "/api/progress/claim", {"session_token": str(token)}, as_account),
        ]
        for name, send, sender, path, body, extra in requests:
            with CaptureQueriesContext(connection) as queries:
                response = send(sender, path, body, **extra) if body is not None else send(sender, path, **extra)
            assert response.status_code in (200, 204), (name, response.content)
            counts.setdefault(name, []).append(len(queries))
    # Anonymous, header token: a completion is the savepoint, the lookup (lock, claimed token, item, module),
    # the upsert (with the steps of the modules holding the item) and the release; a repeat costs the same
    # (the lock with the content version, then the upsert with the learner's completed steps among those kept).
    # An account adds its session and user (2). The claim moves this token's two rows and its clock.
    assert counts == {
        "complete": [4, 4],
        "complete again": [4, 4],
        "time": [1, 1],
        "completed": [2, 2],
        "module": [5, 5],
        "course": [5, 5],
        "openapi": [0, 0],
        "account complete": [6, 6],
        "account time": [3, 3],
        "claim": [36, 36],
    }
