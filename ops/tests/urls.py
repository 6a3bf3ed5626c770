"""The project's URLs plus stand-ins for the other apps' pages and API, for the ops tests.

The views query the database the way real pages and API endpoints do, so an outage reaches them.
"""

import time

from django.contrib.auth import get_user_model
from django.db import OperationalError
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import path

from courseplatform.urls import urlpatterns as project_urlpatterns


def api_users(request):
    return JsonResponse({"users": get_user_model().objects.count()})


def page_users(request):
    return HttpResponse(f"<p>{get_user_model().objects.count()} learners</p>")


def page_whoami(request):
    return HttpResponse(f"<p>{'signed in' if request.user.is_authenticated else 'anonymous'}</p>")


def streamed(request):
    return StreamingHttpResponse(f"part {n}\n" for n in range(3))


def slow_stream(request):
    """A reply streamed a line a second for `seconds` seconds (at most 600): a tutor reply's stand-in."""
    seconds = min(int(request.GET.get("seconds", "10")), 600)

    def lines():
        for n in range(seconds):
            yield f"line {n}\n"
            time.sleep(1)

    return StreamingHttpResponse(lines())


def broken(request):
    raise OperationalError("connection to server failed: Connection refused")


urlpatterns = [
    *project_urlpatterns,
    path("api/ops-test/users", api_users),
    path("ops-test/users", page_users),
    path("ops-test/whoami", page_whoami),
    path("ops-test/stream", streamed),
    path("ops-test/slow-stream", slow_stream),
    path("api/ops-test/broken", broken),
    path("ops-test/broken", broken),
]


class ReadUserFirstMiddleware:
    """Read the user before the view, as the learner middleware does for a request with a session."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "sessionid" in request.COOKIES:
            request.user.is_authenticated  # noqa: B018 (evaluated for its database query)
        return self.get_response(request)


class BrokenDatabaseMiddleware:
    """Fail like a middleware that reads the session while the database is down, on paths asking for it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.endswith("/broken-in-middleware"):
            raise OperationalError("connection to server failed: Connection refused")
        return self.get_response(request)
