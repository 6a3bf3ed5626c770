"""CSRF on every cookie-authenticated write, the login rate limit, and no open redirects.

The CSRF test walks the URL resolver (tests/routes.py), so a POST route added later is covered without
editing it. A write identified by a cookie (the session, or the anonymous learner cookie) without the CSRF
token must be refused and write nothing; the same request with the token must get past the check (so
the test really reaches each route). API writes identified by the X-Session-Token header alone need no
CSRF token: no browser sends that header on its own.
"""

import json
import uuid

import pytest
from django.apps import apps
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import UserFactory
from progress.models import UserContentProgress
from tests.conftest import QUESTION_KEY, csrf_client, csrf_header
from tests.live import PASSWORD
from tests.routes import routes

pytestmark = pytest.mark.django_db(transaction=True)


def row_counts() -> dict[str, int]:
    """Rows in every table of the project, Django's and the libraries' included."""
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def post_paths(course, own_session_id: int) -> list[tuple[str, str]]:
    """(route, concrete path) of every URL pattern, parameters filled with real objects."""
    lens = course.lenses[0]
    samples = {
        "lens_id": lens.pk,
        "item_id": lens.pk,
        "segment_index": 1,
        "question_key": QUESTION_KEY,
        "session_id": own_session_id,
        "slug": course.module.slug,
        "course_slug": course.course.slug,
        "module_slug": course.module.slug,
        "object_id": 1,
        "app_label": "progress",
        "content_type_id": 1,
        "id": 1,
    }
    found = []
    for route in routes():
        path = route.path(samples)
        if path is not None:
            found.append((route.route, path))
    return found


def body_for(path: str) -> dict:
    """A body that would be a valid write on the route, so that only the CSRF check can stop it."""
    if path.startswith("/api/"):
        return {"content_id": str(uuid.uuid4()), "content_type": "lens", "time_delta_s": 5}
    return {"text": "a message", "username": "someone", "password": PASSWORD}


@pytest.fixture(params=["session cookie", "learner cookie"])
def cookie_client(request, victims):
    """A browser identified by a cookie alone: a logged-in account, or an anonymous learner cookie."""
    if request.param == "session cookie":
        client = csrf_client(UserFactory(username="cookie-learner", password=PASSWORD))
    else:
        client = csrf_client()
        client.cookies[settings.PROGRESS_COOKIE_NAME] = str(victims[0].learner.session_token)
    return client


def test_every_cookie_authenticated_post_needs_the_csrf_token(cookie_client, course, victims, settings):
    """POST to every URL of the project with a cookie and no CSRF token: 403 (or 405 where POST is not
    allowed at all, 401 where an anonymous learner may not write at all), and not one row anywhere
    changes. With the token, no route answers 403 for CSRF."""
    # The push webhook is authenticated by its signature, not a cookie: unsigned, it answers 403 too.
    settings.CONTENT_WEBHOOK_SECRET = "a-webhook-secret"
    paths = post_paths(course, victims[0].chat_session.pk)
    assert len(paths) > 20  # the walk found the project's URLs
    for route, path in paths:
        before = row_counts()
        refused = cookie_client.post(path, body_for(path))
        assert refused.status_code in {401, 403, 405}, (route, refused.status_code)
        if path.startswith("/api/") and refused.status_code == 403:
            assert "CSRF" in refused.json()["error"]
        assert row_counts() == before, route

    for route, path in paths:
        allowed = cookie_client.post(path, body_for(path), **csrf_header(cookie_client))
        assert allowed.status_code != 403 or b"CSRF" not in allowed.content, route


def test_api_json_writes_need_the_token_in_a_header_or_the_body(course, victims):
    """A cookie-identified JSON write passes with the token in X-CSRFToken, or (sendBeacon) in the body."""
    client = csrf_client()
    client.cookies[settings.PROGRESS_COOKIE_NAME] = str(uuid.uuid4())
    beat = {"content_id": str(course.lenses[1].pk), "time_delta_s": 5}
    assert client.post("/api/progress/time", json.dumps(beat), content_type="application/json").status_code == 403
    with_header = client.post(
        "/api/progress/time", json.dumps(beat), content_type="application/json", **csrf_header(client)
    )
    assert with_header.status_code == 204
    in_body = {**beat, "csrfmiddlewaretoken": client.cookies["csrftoken"].value}
    assert client.post("/api/progress/time", json.dumps(in_body), content_type="text/plain").status_code == 204


def test_header_token_writes_need_no_csrf_token(course):
    """X-Session-Token identifies an API client, not a browser's ambient cookie: no CSRF token needed."""
    client = Client(enforce_csrf_checks=True)
    body = json.dumps({"content_id": str(course.lenses[1].pk), "content_type": "lens"})
    token = str(uuid.uuid4())
    response = client.post("/api/progress/complete", body, content_type="application/json", HTTP_X_SESSION_TOKEN=token)
    assert response.status_code == 200
    assert UserContentProgress.objects.filter(session_token=token).exists()


# Logging in


def login_urls() -> list[str]:
    """The learners' login page and the admin's."""
    return [reverse(settings.LOGIN_URL), "/admin/login/"]


def login(client: Client, url: str, username: str, password: str, **extra):
    """Submit the real login form: fetch it (CSRF cookie), then post it with its CSRF token."""
    form = client.get(url)
    assert form.status_code == 200
    data = {"username": username, "password": password, "csrfmiddlewaretoken": client.cookies["csrftoken"].value}
    data.update(extra.pop("data", {}))
    return client.post(url, data, **extra)


@pytest.mark.parametrize("url", login_urls())
def test_login_is_rate_limited_in_the_database(url):
    """After LOGIN_FAILURE_LIMIT wrong passwords for a username from one address, even the right password
    is refused with 429 until the cool-off ends; the count lives in the database (django-axes's
    AccessAttempt), so every server sees it. Other usernames and other addresses are not affected."""
    from axes.models import AccessAttempt

    user = UserFactory(username="target", password=PASSWORD, is_staff=True)
    other = UserFactory(username="bystander", password=PASSWORD, is_staff=True)
    client = Client(enforce_csrf_checks=True)
    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login(client, url, user.username, "wrong").status_code == 200  # the form again, with an error
    assert login(client, url, user.username, "wrong").status_code == 429
    assert AccessAttempt.objects.filter(username="target").get().failures_since_start == settings.AXES_FAILURE_LIMIT

    locked = login(Client(enforce_csrf_checks=True), url, user.username, PASSWORD)
    assert locked.status_code == 429
    page = " ".join(locked.content.decode().split())
    minutes = round(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    assert "Too many failed logins" in page and f"paused for {minutes} minutes" in page, page
    assert locked["Retry-After"] == str(minutes * 60)
    assert f'href="{url}"' in page  # back to the form that was posted

    elsewhere = login(Client(enforce_csrf_checks=True, REMOTE_ADDR="10.9.8.7"), url, user.username, PASSWORD)
    assert elsewhere.status_code == 302
    assert login(Client(enforce_csrf_checks=True), url, other.username, PASSWORD).status_code == 302


@pytest.mark.parametrize("url", login_urls())
def test_a_successful_login_resets_the_count(url):
    """Fewer failures than the limit, then the right password: the count starts again from zero."""
    from axes.models import AccessAttempt

    user = UserFactory(username="forgetful", password=PASSWORD, is_staff=True)
    client = Client(enforce_csrf_checks=True)
    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        login(client, url, user.username, "wrong")
    assert login(client, url, user.username, PASSWORD).status_code == 302
    assert not AccessAttempt.objects.filter(username="forgetful").exists()


HOSTILE_NEXT = [
    "https://evil.example/",
    "//evil.example/",
    "http://testserver@evil.example/",
    "/\\evil.example/",
    "\\\\evil.example/",
    "https:evil.example",
    "javascript:alert(1)",
    " //evil.example",
    "\t//evil.example",
]


@pytest.mark.parametrize("url", login_urls())
@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_login_never_redirects_off_site(url, target):
    """A `next` pointing at another site (in any of the spellings browsers accept) is ignored after login."""
    UserFactory(username="traveller", password=PASSWORD, is_staff=True)
    client = Client(enforce_csrf_checks=True)
    response = login(client, f"{url}?next={target}", "traveller", PASSWORD, data={"next": target})
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\")), location
    assert "evil" not in location and "javascript" not in location


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_chat_forms_never_redirect_off_site(target, course, victims):
    """The chat's and the answers' plain forms (no JavaScript) go back to `next` only when it is on this site."""
    client = csrf_client()
    client.cookies[settings.PROGRESS_COOKIE_NAME] = str(uuid.uuid4())
    new = reverse("chat:new", kwargs={"lens_id": course.lenses[0].pk, "segment_index": 1})
    answer = course.url("answer", question_key=QUESTION_KEY)
    for path, data, fallback in [
        (new, {"next": target}, "/"),
        (answer, {"next": target, "text": "an answer"}, course.url("lens")),
    ]:
        response = client.post(path, data, **csrf_header(client))
        assert response.status_code == 303
        assert response["Location"] == fallback


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_signup_never_redirects_off_site(target):
    """Signing up with a `next` pointing at another site lands on this site's home page."""
    client = Client(enforce_csrf_checks=True)
    url = reverse("signup")
    client.get(url)
    data = {
        "username": "newcomer",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "next": target,
        "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
    }
    response = client.post(f"{url}?next={target}", data)
    assert response.status_code == 302
    assert response["Location"] == "/"
