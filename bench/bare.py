"""The floor for the API benchmark: the same SQL as the progress endpoints, from bare Django views.

No middleware (bench/bare_settings.py), no identity resolution, CSRF, size or field checks: each view
takes the token from the header and the fields from the JSON body, issues exactly the SQL its endpoint
issues (the heartbeat's statement directly, the others through the same service and query functions),
and answers minimally. Served by gunicorn like the application, so the ratio between the two is the
cost of everything the application adds around the SQL. Not part of the shipped application.
"""

import json
import uuid

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.utils import timezone

from courseplatform import urls as project_urls
from learn.views import pages
from progress import sql
from progress.identity import Learner
from progress.queries import course_progress, find_by_slug
from progress.services import complete_content


def heartbeat(request):
    data = json.loads(request.body)
    params = {
        "user_id": None,
        "token": uuid.UUID(request.META["HTTP_X_SESSION_TOKEN"]),
        "content_id": uuid.UUID(data["content_id"]),
        "now": timezone.now(),
        "capped": min(data["time_delta_s"], settings.PROGRESS_MAX_HEARTBEAT_SECONDS),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql.heartbeat_sql(by_user=False), params)
    return HttpResponse(status=204)


def complete(request):
    data = json.loads(request.body)
    result = complete_content(
        learner=Learner(session_token=uuid.UUID(request.META["HTTP_X_SESSION_TOKEN"])),
        content_id=uuid.UUID(data["content_id"]),
        content_type=data["content_type"],
        module_slug=data.get("module_slug"),
    )
    return JsonResponse({"completed_at": result.completed_at})


def course(request, slug):
    learner = Learner(session_token=uuid.UUID(request.META["HTTP_X_SESSION_TOKEN"]))
    progress = course_progress(learner=learner, course=find_by_slug("course", slug))
    return JsonResponse({"units": len(progress.units)})


def page(view):
    """A learner page's own view, called without the middleware stack.

    The view runs its own queries and renders its own template with the same data; what the
    middleware would have provided is set up by hand, as cheaply as possible: the anonymous learner
    from the header, an anonymous user, an empty session (never read from the database: no cookie),
    htmx details. So the difference to the application is the cost of the middleware and of Django's
    request checks.
    """

    def bare_view(request, **kwargs):
        from django.contrib.auth.models import AnonymousUser
        from django.contrib.sessions.backends.db import SessionStore
        from django_htmx.middleware import HtmxDetails

        request.learner = Learner(session_token=uuid.UUID(request.META["HTTP_X_SESSION_TOKEN"]))
        request.user = AnonymousUser()
        request.session = SessionStore()
        request.htmx = HtmxDetails(request)
        return view(request, **kwargs)

    return bare_view


urlpatterns = [
    path("api/progress/time", heartbeat),
    path("api/progress/complete", complete),
    path("api/courses/<path:slug>/progress", course),
]

urlpatterns += [  # the learner pages (courseplatform.urls, imported above, registered the `module` converter)
    path("courses/<slug:course_slug>/", page(pages.course_overview)),
    path("courses/<slug:course_slug>/modules/<module:module_slug>/lenses/<uuid:lens_id>/", page(pages.module_viewer)),
]
# After the bare views, so that those win: the project's URLs, which the pages' templates reverse.
urlpatterns += project_urls.urlpatterns
