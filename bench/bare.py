"""The floor for the API benchmark: the same SQL as the progress endpoints, from bare Django views.

No middleware (bench/bare_settings.py), no identity resolution, CSRF, size or field checks: each view
takes the token from the header and the fields from the JSON body, issues exactly the SQL its endpoint
issues (the heartbeat's statement directly, the others through the same service and query functions),
and answers minimally. `complete_floor` is the lower floor of a completion: the fewest statements it needs
(the lens upsert, one count of the module's required and completed steps, the module row when that
completes it) in one transaction, with none of the service's guarantees. Served by gunicorn like the
application, so the ratio between the two is the cost of everything the application adds around the SQL.
Not part of the shipped application.
"""

import json
import uuid

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.utils import timezone

from content_loader.models import ContentItem
from courseplatform import urls as project_urls
from learn.views import pages
from learners import Learner
from progress import prepared, sql
from progress.queries import course_progress
from progress.services import complete_content

HEARTBEAT = prepared.Statement("progress_heartbeat_token", sql.heartbeat_sql(by_user=False))


def heartbeat(request):
    data = json.loads(request.body)
    params = {
        "user_id": None,
        "token": uuid.UUID(request.META["HTTP_X_SESSION_TOKEN"]),
        "content_id": uuid.UUID(data["content_id"]),
        "now": timezone.now(),
        "capped": min(data["time_delta_s"], settings.PROGRESS_MAX_HEARTBEAT_SECONDS),
    }
    with connection.cursor() as cursor:  # the application's statement, prepared the same way
        prepared.execute(cursor, HEARTBEAT, params)
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


# The completion floor: the fewest statements a completion with module_slug needs, in one transaction.
FLOOR_UPSERT = """
    INSERT INTO progress_usercontentprogress AS p (user_id, session_token, content_id, content_type, content_title,
        started_at, time_to_complete_s, total_time_spent_s, completed_at, last_heartbeat_at)
    VALUES (NULL, %(token)s, %(content_id)s, 'lens', '', %(now)s, 0, 0, %(now)s, NULL)
    ON CONFLICT (session_token, content_id) WHERE session_token IS NOT NULL
    DO UPDATE SET completed_at = COALESCE(p.completed_at, EXCLUDED.completed_at)
    RETURNING completed_at
"""
FLOOR_COUNTS = """
    SELECT m.id, COUNT(DISTINCT e.item_id) FILTER (WHERE NOT e.optional),
           COUNT(DISTINCT e.item_id) FILTER (WHERE NOT e.optional AND p.completed_at IS NOT NULL)
    FROM content_loader_contentitem m
    JOIN content_loader_moduleentry e ON e.module_id = m.id
    LEFT JOIN progress_usercontentprogress p ON p.session_token = %(token)s AND p.content_id = e.item_id
    WHERE m.content_type = 'module' AND m.slug = %(slug)s AND m.retired_at IS NULL
    GROUP BY m.id
"""
FLOOR_MODULE = """
    INSERT INTO progress_usercontentprogress AS p (user_id, session_token, content_id, content_type, content_title,
        started_at, time_to_complete_s, total_time_spent_s, completed_at, last_heartbeat_at)
    VALUES (NULL, %(token)s, %(module_id)s, 'module', '', %(now)s, 0, 0, %(now)s, NULL)
    ON CONFLICT (session_token, content_id) WHERE session_token IS NOT NULL
    DO UPDATE SET completed_at = COALESCE(p.completed_at, EXCLUDED.completed_at)
"""


def complete_floor(request):
    """The lens upsert, the module's required and completed counts, the module row when that completes it."""
    data = json.loads(request.body)
    params = {
        "token": uuid.UUID(request.META["HTTP_X_SESSION_TOKEN"]),
        "content_id": uuid.UUID(data["content_id"]),
        "slug": data["module_slug"],
        "now": timezone.now(),
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(FLOOR_UPSERT, params)
        (completed_at,) = cursor.fetchone()
        cursor.execute(FLOOR_COUNTS, params)
        module_id, required, completed = cursor.fetchone()
        if completed == required:
            cursor.execute(FLOOR_MODULE, params | {"module_id": module_id})
    return JsonResponse({"completed_at": completed_at, "module_progress": {"completed": completed, "total": required}})


def course(request, slug):
    learner = Learner(session_token=uuid.UUID(request.META["HTTP_X_SESSION_TOKEN"]))
    progress = course_progress(learner=learner, course=ContentItem.objects.defer("body").find_by_slug("course", slug))
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
    path("floor/progress/complete", complete_floor),
    path("api/courses/<path:slug>/progress", course),
]

urlpatterns += [  # the learner pages (courseplatform.urls, imported above, registered the `module` converter)
    path("courses/<slug:course_slug>/", page(pages.course_overview)),
    path("courses/<slug:course_slug>/modules/<module:module_slug>/lenses/<uuid:lens_id>/", page(pages.module_viewer)),
]
# After the bare views, so that those win: the project's URLs, which the pages' templates reverse.
urlpatterns += project_urls.urlpatterns
