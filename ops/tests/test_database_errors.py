"""How a request that meets a database error is answered (the error raised here by a stand-in view).

The same answers during a real outage, and the recovery after it, are pinned in test_outage.py.
"""

import pytest
from django.test import Client

from ops.middleware import UNAVAILABLE_MESSAGE

pytestmark = pytest.mark.urls("ops.tests.urls")


@pytest.fixture
def client_seeing_500s():
    """A client that returns error responses instead of re-raising the server's exception."""
    return Client(raise_request_exception=False)


def test_api_request_gets_503_json_with_retry_after(client):
    """Under /api/, a database error is a 503 JSON error naming the outage, with Retry-After."""
    response = client.post("/api/ops-test/broken")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": UNAVAILABLE_MESSAGE}
    assert response.json() == {"error": "The database is unavailable; please retry shortly."}
    assert response["Retry-After"] == "5"
    assert "no-store" in response["Cache-Control"].split(", ")


def test_page_request_gets_friendly_503_page(client):
    """A page meeting a database error shows the self-contained outage page, not a 500."""
    response = client.get("/ops-test/broken")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert response["Retry-After"] == "5"
    html = response.content.decode()
    assert "<h1>Back in a moment</h1>" in html
    assert "Everything you saved before is safe." in html
    # Self-contained: no stylesheet, script or image to fetch from a server that is in trouble.
    assert "<link" not in html and "<script" not in html and "<img" not in html


def test_error_raised_in_a_middleware_is_a_503_too(client_seeing_500s, settings):
    """A database error raised outside the view (a middleware reading the session) is still a 503."""
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "ops.tests.urls.BrokenDatabaseMiddleware"]
    api = client_seeing_500s.get("/api/ops-test/broken-in-middleware")
    assert api.status_code == 503
    assert api.json() == {"error": UNAVAILABLE_MESSAGE}
    page = client_seeing_500s.get("/ops-test/broken-in-middleware")
    assert page.status_code == 503
    assert "<h1>Back in a moment</h1>" in page.content.decode()


def test_other_errors_stay_500(client_seeing_500s, settings):
    """Only database errors become a 503: a bug is still a 500."""
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "ops.tests.test_database_errors.BuggyMiddleware"]
    assert client_seeing_500s.get("/ops-test/anything").status_code == 500


class BuggyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raise ZeroDivisionError
