"""Who the learner is, and the learner cookie that pages set on the first visit."""

import uuid

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory

from accounts.tests.factories import UserFactory
from content_loader.tests.factories import LensFactory
from progress.identity import Learner, learner_from_request
from progress.middleware import LearnerMiddleware
from progress.models import UserContentProgress

pytestmark = [pytest.mark.django_db, pytest.mark.urls("progress.tests.urls")]


def request_with(*, header=None, cookie=None, user=None):
    request = RequestFactory().get("/page/", **({"HTTP_X_SESSION_TOKEN": header} if header else {}))
    if cookie:
        request.COOKIES["learner_token"] = cookie
    request.user = user or AnonymousUser()
    return request


def test_logged_in_user_wins_over_any_token():
    """A logged-in learner is the account; the header and cookie are then ignored."""
    user = UserFactory()
    learner = learner_from_request(request_with(header=str(uuid.uuid4()), cookie=str(uuid.uuid4()), user=user))
    assert learner == Learner(user_id=user.pk) and learner.is_authenticated


def test_header_wins_over_cookie():
    """An anonymous API client's header comes before the cookie."""
    header, cookie = uuid.uuid4(), uuid.uuid4()
    assert learner_from_request(request_with(header=str(header), cookie=str(cookie))) == Learner(session_token=header)
    assert learner_from_request(request_with(cookie=str(cookie))) == Learner(session_token=cookie)


@pytest.mark.parametrize("garbage", ["", "not-a-uuid", "1234", "x" * 5000, "'; DROP TABLE x; --"])
def test_garbage_tokens_count_as_absent(garbage):
    """A token that is not a UUID is treated as no token, falling back to the next source."""
    cookie = uuid.uuid4()
    assert learner_from_request(request_with(header=garbage)) is None
    assert learner_from_request(request_with(header=garbage, cookie=str(cookie))) == Learner(session_token=cookie)
    assert learner_from_request(request_with(cookie=garbage)) is None


def test_first_page_view_sets_a_secure_httponly_lax_cookie(client, settings):
    """An anonymous visitor without a cookie gets a fresh token cookie on an HTML page."""
    settings.PROGRESS_COOKIE_SECURE = True
    response = client.get("/page/")
    cookie = response.cookies["learner_token"]
    token = uuid.UUID(cookie.value)
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["secure"]
    assert cookie["max-age"] >= 360 * 24 * 3600
    assert str(token) in response.content.decode()  # request.learner already used the new token


def test_cookie_is_not_secure_while_debugging(client, settings):
    """Without HTTPS in development, the cookie must not be Secure or the browser would drop it."""
    settings.PROGRESS_COOKIE_SECURE = False
    assert not client.get("/page/").cookies["learner_token"]["secure"]


def test_a_valid_cookie_is_kept(client):
    """A visitor who already has a valid token cookie keeps it (no new Set-Cookie)."""
    token = uuid.uuid4()
    client.cookies["learner_token"] = str(token)
    response = client.get("/page/")
    assert "learner_token" not in response.cookies
    assert str(token) in response.content.decode()


def test_an_invalid_cookie_is_replaced(client):
    """A garbage cookie is replaced by a fresh token."""
    client.cookies["learner_token"] = "garbage"
    assert uuid.UUID(client.get("/page/").cookies["learner_token"].value)


@pytest.mark.parametrize("path", ["/api/progress/completed", "/admin/login/", "/static/app.js"])
def test_no_cookie_outside_pages(client, path):
    """API, admin and static responses never set the learner cookie."""
    assert "learner_token" not in client.get(path).cookies


def test_no_cookie_on_a_non_html_response_that_did_not_use_the_token(client):
    """A JSON response that never looked at the learner sets no cookie."""
    assert "learner_token" not in client.get("/data.json").cookies


def test_progress_recorded_on_the_first_request_keeps_its_cookie(client):
    """A redirecting form post that recorded progress under the new token still sets that token's cookie."""
    lens = LensFactory()
    response = client.post(f"/complete/{lens.pk}/")
    assert response.status_code == 302
    token = uuid.UUID(response.cookies["learner_token"].value)
    assert UserContentProgress.objects.get(content_id=lens.pk).session_token == token


def test_logged_in_visitor_gets_no_learner_cookie(client):
    """A logged-in learner is identified by the session; no token cookie is needed."""
    user = UserFactory()
    client.force_login(user)
    response = client.get("/page/")
    assert "learner_token" not in response.cookies
    assert str(user.pk) in response.content.decode()


def test_request_learner_is_none_without_any_identity(rf):
    """Outside pages, a request with no session and no token has request.learner None (an `is None` test works)."""
    seen = {}

    def view(request):
        seen["learner"] = request.learner
        return HttpResponse()

    request = rf.get("/api/progress/completed")
    LearnerMiddleware(view)(request)
    assert seen["learner"] is None
