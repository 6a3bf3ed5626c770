"""No response that depends on the learner is cached for someone else or shown stale on Back.

Walks the URL resolver (tests/routes.py) like the CSRF test, so a page or API URL added later is covered
without editing this file: every answer, page or JSON, success or refusal, to a logged-in browser and to
an API client with `X-Session-Token`, must say `Cache-Control: private, no-cache, no-store` and
`Vary: Cookie, X-Session-Token`.
"""

import uuid

import pytest
from django.test import Client
from django.utils.cache import cc_delim_re

from accounts.tests.factories import UserFactory
from tests.conftest import csrf_client, csrf_header
from tests.test_csrf_and_auth import body_for, post_paths

pytestmark = pytest.mark.django_db(transaction=True)

# The same for everyone: the API's description (marked public) names no learner.
LEARNER_INDEPENDENT = {"/api/openapi.json"}


def cache_directives(response) -> set[str]:
    return {d.strip().split("=")[0].lower() for d in cc_delim_re.split(response.get("Cache-Control", "")) if d}


def vary(response) -> set[str]:
    return {v.strip().lower() for v in cc_delim_re.split(response.get("Vary", "")) if v}


def assert_learner_private(response, label: str) -> None:
    assert {"private", "no-cache", "no-store"} <= cache_directives(response), (label, response.get("Cache-Control"))
    assert {"cookie", "x-session-token"} <= vary(response), (label, response.get("Vary"))


@pytest.fixture(params=["session cookie", "token header"])
def learner_client(request):
    if request.param == "session cookie":
        client = csrf_client(UserFactory(username="cached-learner"))
        return client, csrf_header(client)
    return Client(), {"HTTP_X_SESSION_TOKEN": str(uuid.uuid4())}


def test_every_learner_page_and_api_answer_is_private_and_never_reused(learner_client, course, victims):
    """GET and POST of every URL (pages, fragments, JSON reads and writes) carry the no-stale headers."""
    client, headers = learner_client
    own = victims[0].chat_session.pk
    for route, path in post_paths(course, own):
        if path in LEARNER_INDEPENDENT:
            continue
        get = client.get(path, **headers)
        assert_learner_private(get, f"GET {route} ({get.status_code})")
        if path.startswith("/admin/"):
            continue  # the admin's own pages are never_cache already; the GET above checked it
        post = client.post(path, body_for(path), **headers)
        assert_learner_private(post, f"POST {route} ({post.status_code})")


def test_the_api_json_reads_of_a_learner_are_private(course, victims):
    """The progress reads: private, no-cache, Vary: Cookie, X-Session-Token."""
    token = {"HTTP_X_SESSION_TOKEN": str(victims[0].learner.session_token)}
    for path in (
        "/api/progress/completed",
        f"/api/modules/{course.module.slug}/progress",
        f"/api/courses/{course.course.slug}/progress",
    ):
        response = Client().get(path, **token)
        assert response.status_code == 200
        assert_learner_private(response, path)


def test_the_openapi_document_stays_cacheable():
    """The API description is the same for everyone: public, not marked private."""
    response = Client().get("/api/openapi.json")
    assert "public" in cache_directives(response) and "private" not in cache_directives(response)
