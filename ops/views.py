"""Operational endpoints, and the error answers of URLs no view handled."""

import logging

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import csrf, defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger("ops.database")


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers `SELECT 1`; 503 with the reason when it does not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as error:
        logger.warning("health check failed", extra={"error": f"{type(error).__name__}: {error}".strip()})
        reason = f"The database did not answer ({type(error).__name__})."
        return JsonResponse({"status": "unavailable", "reason": reason}, status=503)
    return JsonResponse({"status": "ok"})


# Django's handlers for errors raised outside a view (courseplatform/urls.py names them): under /api/ the
# answer is JSON like every other API refusal ({"error": ...}), elsewhere Django's templated pages.


def _api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _api(request):
        return JsonResponse({"error": "The request is malformed."}, status=400)
    return defaults.bad_request(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _api(request):
        return JsonResponse({"error": "No API endpoint has this URL."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _api(request):
        return JsonResponse({"error": "Something went wrong on the server; it has been logged."}, status=500)
    return defaults.server_error(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A failed CSRF check (settings.CSRF_FAILURE_VIEW): JSON under /api/, Django's page elsewhere."""
    if _api(request):
        return JsonResponse({"error": f"CSRF verification failed: {reason}"}, status=403)
    return csrf.csrf_failure(request, reason=reason)
