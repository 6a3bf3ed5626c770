"""Writes to a lens or test that stores nothing, refused once for every chat, question and roleplay view."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from chat.panels import NotStored
from chat.views import refusal
from ops.http import safe_next


class NotStoredMiddleware:
    """Answers `chat.panels.NotStored` (raised by the segment lookups) with the 409 refusal the learner reads."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, NotStored):
            return None
        return refusal(
            request,
            message=exception.message,
            status=exception.status,
            dom_id=exception.dom_id,
            back_url=safe_next(request, exception.back_url),
        )
