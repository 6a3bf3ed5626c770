"""Two application servers on different loopback ports, one PostgreSQL: a learner alternating between
them (as behind a load balancer without sticky sessions) keeps one consistent progress.

Nothing that two servers must agree on lives in process memory: sessions are in the database, the
anonymous token travels with each request, the chat rate limit counts rows, and the login rate limit
(django-axes) counts failures in a table. Each is shown here across the two servers.
"""

import time

import pytest

from chat.tests.fake_tutor import FakeTutorServer
from devtools.appserver import AppServer
from tests.live import Browser, heartbeat_bounds, log_in, start_site

pytestmark = pytest.mark.slow

SECRET_KEY = "scale-out-test-shared-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


@pytest.fixture(scope="module")
def site():
    site = start_site(durable=False)
    try:
        yield site
    finally:
        site.cluster.stop()


@pytest.fixture(scope="module")
def tutor():
    server = FakeTutorServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def servers(site, tutor):
    """Servers A and B: same code, same SECRET_KEY and settings, different processes and ports."""
    env = {
        "SECRET_KEY": SECRET_KEY,
        "TUTOR_BASE_URL": tutor.base_url,
        "TUTOR_MODEL": "fake",
        "CHAT_RATE_LIMIT_MESSAGES": "3",
        "LOGIN_FAILURE_LIMIT": "4",
        "PROGRESS_COOKIE_SECURE": "false",
    }
    with AppServer(database_url=site.cluster.url, env=env) as a, AppServer(database_url=site.cluster.url, env=env) as b:
        assert a.port != b.port
        yield a.url, b.url


def test_an_anonymous_learner_keeps_one_progress_across_servers(site, servers):
    """With X-Session-Token: a completion on A is seen on B and the other way round; heartbeats sent to
    A and B in turn are credited once, as if one server had taken them all."""
    a, b = servers
    learner = Browser(headers={"X-Session-Token": "6c1f0a4e-3a57-4c39-9f55-7e0fb1d2a001"})
    first, second, read = site.lenses[:3]
    assert learner.post(a, "/api/progress/complete", {"content_id": first, "content_type": "lens"}).status == 200
    assert learner.get(b, "/api/progress/completed").json()["content_ids"] == [first]
    assert learner.post(b, "/api/progress/complete", {"content_id": second, "content_type": "lens"}).status == 200
    assert sorted(learner.get(a, "/api/progress/completed").json()["content_ids"]) == sorted([first, second])

    beats = []
    for number in range(6):
        sent = time.monotonic()
        answer = learner.post([a, b][number % 2], "/api/progress/time", {"content_id": read, "time_delta_s": 120})
        assert answer.status == 204
        beats.append(type("Beat", (), {"sent": sent, "received": time.monotonic()}))
        time.sleep(0.3)
    low, high = heartbeat_bounds(beats)
    [(total,)] = site.query(
        "SELECT total_time_spent_s FROM progress_usercontentprogress WHERE session_token = %s AND content_id = %s",
        ("6c1f0a4e-3a57-4c39-9f55-7e0fb1d2a001", read),
    )
    assert low <= total <= high  # 120 for the first, then the seconds between them: never 120 per server

    module = learner.get(b, f"/api/modules/{site.module_slug}/progress").json()
    in_module = {lens["id"] for lens in module["lenses"]}
    assert in_module & {first, second}
    assert {lens["id"] for lens in module["lenses"] if lens["completed"]} == in_module & {first, second}


def test_a_browser_keeps_its_cookie_progress_session_and_claim_across_servers(site, servers):
    """A browser with the learner cookie and CSRF token works on both; logging in on A claims what it did
    on B; the session then works on B (reads and CSRF-protected writes) and on A again."""
    a, b = servers
    browser = Browser()
    page = browser.get(a, "/")  # a page: mints the learner cookie and CSRF cookie
    assert page.status == 200 and "learner_token" in browser.cookies and "csrftoken" in browser.cookies
    anonymous_token = browser.cookies["learner_token"]

    lens = site.lenses[3]
    assert browser.post(b, "/api/progress/complete", {"content_id": lens, "content_type": "lens"}).status == 200
    assert browser.post(a, "/api/progress/time", {"content_id": lens, "time_delta_s": 30}).status == 204
    assert browser.get(b, "/api/progress/completed").json()["content_ids"] == [lens]

    logged_in = log_in(browser, a, "learner")
    assert logged_in.status == 302, logged_in.text[:500]
    assert "sessionid" in browser.cookies and browser.cookies["learner_token"] != anonymous_token

    assert lens in browser.get(b, "/api/progress/completed").json()["content_ids"]  # the claim, seen on B
    [(user_id,)] = site.query(
        "SELECT user_id FROM progress_usercontentprogress WHERE content_id = %s AND user_id IS NOT NULL", (lens,)
    )
    assert site.query("SELECT id FROM auth_user WHERE username = 'learner'") == [(user_id,)]
    assert not site.query("SELECT 1 FROM progress_usercontentprogress WHERE session_token = %s", (anonymous_token,))

    other_lens = site.lenses[4]
    assert browser.post(b, "/api/progress/complete", {"content_id": other_lens, "content_type": "lens"}).status == 200
    assert browser.post(a, "/api/progress/time", {"content_id": other_lens, "time_delta_s": 30}).status == 204
    completed = browser.get(a, "/api/progress/completed").json()["content_ids"]
    assert set(completed) >= {lens, other_lens}
    # Without the CSRF token the session's writes are refused on either server.
    csrf = browser.cookies.pop("csrftoken")
    for server in (a, b):
        refused = browser.request(
            server, "POST", "/api/progress/complete", body={"content_id": lens, "content_type": "lens"}
        )
        assert refused.status == 403
    browser.cookies["csrftoken"] = csrf


def test_the_chat_rate_limit_is_shared_by_the_servers(site, servers):
    """CHAT_RATE_LIMIT_MESSAGES=3: two messages on A and one on B use up the limit; the next is refused
    on A and on B (the count is rows in the database, not a counter in a process)."""
    a, b = servers
    assert site.chat_lens, "the demo content has no lens with a chat"
    learner = Browser(headers={"HX-Request": "true"})
    assert learner.get(b, "/").status == 200  # a page: the learner cookie and CSRF cookie
    path = f"/chat/lens/{site.chat_lens}/chat/{site.chat_segment}/send/"
    for server in (a, a, b):
        assert learner.post(server, path, {"text": "hello"}, form=True).status == 200
    for server in (a, b):
        refused = learner.post(server, path, {"text": "hello again"}, form=True)
        assert refused.status == 429 and refused.headers["retry-after"]


def test_the_login_rate_limit_is_shared_by_the_servers(site, servers):
    """LOGIN_FAILURE_LIMIT=4: two failures on A and two on B lock the account out on both servers, even
    with the right password; another account is not affected."""
    a, b = servers
    for server in (a, a, b, b):
        failed = log_in(Browser(), server, "other", "wrong password")
        assert failed.status in {200, 429}
    for server in (a, b):
        assert log_in(Browser(), server, "other").status == 429
    assert log_in(Browser(), b, "learner").status == 302
