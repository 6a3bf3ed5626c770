"""What every app's views share about HTTP: the htmx-typed request, a safe `next`, and streamed JSON lines.

It imports only Django and django-htmx, so any app (chat and roleplay below the learner pages, accounts,
learn) may use it without an import across the layers.
"""

import json
from collections.abc import AsyncIterator, Iterable

from django.http import HttpRequest, StreamingHttpResponse
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.middleware import HtmxDetails

STREAM_CONTENT_TYPE = "application/x-ndjson"


class HtmxHttpRequest(HttpRequest):
    """A request that went through django-htmx's middleware (`request.htmx`)."""

    htmx: HtmxDetails


def safe_next(request: HttpRequest, fallback: str = "/") -> str:
    """The `next` parameter (posted, else in the query string) when it points at this site, else `fallback`.

    No open redirects: another host, a scheme other than http(s), or http:// on an https request is refused."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback


def wants_stream(request: HttpRequest) -> bool:
    """Whether the client reads the answer as it streams (the chat script asks for NDJSON)."""
    return STREAM_CONTENT_TYPE in request.headers.get("Accept", "")


def ndjson(events: Iterable[dict] | AsyncIterator[dict]) -> StreamingHttpResponse:
    """A streamed response of JSON lines, sent as they are produced (no proxy buffering).

    Asynchronous events (an ASGI server) are sent as they come too; a synchronous iterator would be
    consumed whole before anything is sent there (Django's StreamingHttpResponse under ASGI).
    """
    if isinstance(events, AsyncIterator):
        lines = _async_lines(events)
    else:
        lines = (json.dumps(event) + "\n" for event in events)
    response = StreamingHttpResponse(lines, content_type=STREAM_CONTENT_TYPE)
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


async def _async_lines(events: AsyncIterator[dict]) -> AsyncIterator[str]:
    async for event in events:
        yield json.dumps(event) + "\n"
