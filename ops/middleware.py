"""Request logging and the answer given while the database is unreachable.

`RequestLogMiddleware` writes one JSON line per request (see `ops.logs`) naming the learner by kind and
id only: a user id, or a short hash of the anonymous token; never a name, an email or an address.

`RejectNulMiddleware` answers 400 to a NUL character in the query string or a form field, anywhere:
PostgreSQL cannot store or compare text holding one, so it would otherwise be a 500 deep in a view.

`DatabaseUnavailableMiddleware` turns `OperationalError` and `InterfaceError` (PostgreSQL down,
restarting, out of connections) into a 503 with `Retry-After`: JSON under /api/, a friendly page
elsewhere. Django closes the broken connection at the end of the request, and the connection health
check replaces a stale persistent one, so the application recovers by itself once the database is back.
"""

import hashlib
import logging
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator

from csp.constants import HEADER as CSP_HEADER
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.core.exceptions import SuspiciousOperation
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.middleware.gzip import GZipMiddleware
from django.template.loader import render_to_string
from django.utils.functional import SimpleLazyObject, empty

from progress.api.plumbing import MAX_BODY_BYTES as MAX_API_BODY_BYTES
from progress.identity import TOKEN_HEADER, parse_token, session_user_id

request_logger = logging.getLogger("ops.requests")
database_logger = logging.getLogger("ops.database")

DATABASE_ERRORS = (OperationalError, InterfaceError)
UNAVAILABLE_MESSAGE = "The database is unavailable; please retry shortly."
RETRY_AFTER_SECONDS = 5
# Set on the request when its database error was seen (by the signal or by process_exception).
DATABASE_ERROR_ATTR = "_ops_database_error"


def remember_database_error(sender, request: HttpRequest | None = None, **kwargs) -> None:
    """Mark the request when Django turns a database error into a 500 (got_request_exception receiver)."""
    error = sys.exc_info()[1]
    if request is not None and isinstance(error, DATABASE_ERRORS):
        setattr(request, DATABASE_ERROR_ATTR, error)


def database_unavailable_response(request: HttpRequest) -> HttpResponse:
    """The 503 of an outage: JSON for the API, a self-contained page (no database needed) for the rest."""
    if request.path_info.startswith("/api/"):
        response = JsonResponse({"error": UNAVAILABLE_MESSAGE}, status=503)
    else:
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        # An error raised in an inner middleware (the session, the learner) is already a 500 here.
        error = getattr(request, DATABASE_ERROR_ATTR, None)
        if error is not None and response.status_code == 500:
            return self._unavailable(request, error)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DATABASE_ERRORS):
            setattr(request, DATABASE_ERROR_ATTR, exception)
            return self._unavailable(request, exception)
        return None

    @staticmethod
    def _unavailable(request: HttpRequest, error: Exception) -> HttpResponse:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        database_logger.warning(
            "database unavailable", extra={"path": request.path, "error": f"{type(error).__name__}: {first_line}"}
        )
        return database_unavailable_response(request)


NUL_MESSAGE = "The {where} contains a NUL character (%00), which this site does not accept. Remove it and try again."
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _has_nul(data) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in data.lists())


def bad_request(request: HttpRequest, message: str) -> HttpResponse:
    """A 400 with `message`: JSON under /api/ (as every API refusal), plain text elsewhere."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"error": message}, status=400)
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


class RejectNulMiddleware:
    """Refuse a NUL character in the query string or in a form field (names and values) with a 400.

    A form body is read here only when Django would read it anyway (a form content type, within
    DATA_UPLOAD_MAX_MEMORY_SIZE, and for /api/ within its 64 KiB); a body Django cannot parse is left to
    the view, which refuses it as it always has.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        query = request.META.get("QUERY_STRING", "")
        if "%00" in query or "\x00" in query:
            try:
                nul = _has_nul(request.GET)
            except SuspiciousOperation:  # too many fields
                return bad_request(request, "The address has too many parameters.")
            if nul:
                return bad_request(request, NUL_MESSAGE.format(where="address (its query string)"))
        if request.method == "POST" and request.content_type in FORM_TYPES and self._within_limit(request):
            try:
                nul = _has_nul(request.POST)
            except (MultiPartParserError, SuspiciousOperation, UnreadablePostError, ValueError):
                nul = False  # a body Django cannot parse: the view refuses it in its own way (400, 405, ...)
            if nul:
                return bad_request(request, NUL_MESSAGE.format(where="form"))
        return self.get_response(request)

    @staticmethod
    def _within_limit(request: HttpRequest) -> bool:
        """Whether the body is small enough to read here: the API refuses bigger ones unread (413)."""
        limit = MAX_API_BODY_BYTES if request.path_info.startswith("/api/") else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return False  # the view refuses the header itself
        return limit is None or length <= limit


def token_hash(token: uuid.UUID) -> str:
    """A short, stable name for an anonymous token in logs; the token itself cannot be recovered from it."""
    return hashlib.sha256(str(token).encode()).hexdigest()[:12]


def _user_id(request: HttpRequest) -> int | None:
    """The logged-in user's id (progress.identity's rule), or None when the database failed this request."""
    if getattr(request, DATABASE_ERROR_ATTR, None) is not None:
        return None
    try:
        return session_user_id(request)
    except DatabaseError:
        return None


def learner_fields(request: HttpRequest, response: HttpResponseBase) -> dict:
    """The learner of a request for its log line: kind ("user", "anonymous" or "none") and an id."""
    user_id = _user_id(request)
    if user_id is not None:
        return {"learner": "user", "user_id": user_id}
    cookie_name = settings.PROGRESS_COOKIE_NAME
    token = parse_token(request.META.get(TOKEN_HEADER)) or parse_token(request.COOKIES.get(cookie_name))
    if token is None and cookie_name in response.cookies:
        # A first page view: the learner is the one the new cookie names.
        token = parse_token(response.cookies[cookie_name].value)
    if token is not None:
        return {"learner": "anonymous", "token_hash": token_hash(token)}
    return {"learner": "none"}


class RequestLogMiddleware:
    """One log line per request: method, path (no query string), status, duration_ms and the learner.

    A streamed response (the tutor's reply) is logged when its stream ends, so its duration is the
    whole reply; files are logged when their response is ready, so that they keep the server's sendfile.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        response = self.get_response(request)
        fields = {"method": request.method, "path": request.path, "status": response.status_code}
        fields.update(learner_fields(request, response))
        if response.streaming and not isinstance(response, FileResponse):
            if response.is_async:
                response.streaming_content = self._log_after_async(response.streaming_content, started, fields)
            else:
                response.streaming_content = self._log_after(response.streaming_content, started, fields)
        else:
            self._log(started, fields)
        return response

    @staticmethod
    def _log(started: float, fields: dict) -> None:
        fields["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
        level = logging.WARNING if fields["status"] >= 500 else logging.INFO
        request_logger.log(level, "request", extra=fields)

    def _log_after(self, content: Iterator[bytes], started: float, fields: dict) -> Iterator[bytes]:
        try:
            yield from content
        finally:
            self._log(started, {**fields, "streamed": True})

    async def _log_after_async(
        self, content: AsyncIterator[bytes], started: float, fields: dict
    ) -> AsyncIterator[bytes]:
        try:
            async for chunk in content:
                yield chunk
        finally:
            self._log(started, {**fields, "streamed": True})


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with the site-wide policy built once instead of twice on every response.

    django-csp rebuilds the header from settings for each response (about a tenth of a heartbeat's time).
    The fast path applies when nothing makes a response's policy its own: no per-view policy (django-csp's
    decorators), no nonce asked for, no report-only policy and no excluded prefixes; anything else goes
    through the library unchanged.
    """

    # What django-csp's decorators set on a response whose view has a policy of its own.
    _PER_VIEW_ATTRIBUTES = (
        "_csp_config",
        "_csp_update",
        "_csp_replace",
        "_csp_config_ro",
        "_csp_update_ro",
        "_csp_replace_ro",
    )
    _built: tuple[object, str] = (None, "")  # (the CONTENT_SECURITY_POLICY setting it was built from, header)

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", None)
        own_policy = any(getattr(response, name, None) is not None for name in self._PER_VIEW_ATTRIBUTES)
        if (
            own_policy
            or getattr(request, "_csp_nonce", None) is not None
            or getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
            or not policy
            or policy.get("EXCLUDE_URL_PREFIXES")
        ):
            return super().process_response(request, response)
        if settings.DEBUG and response.status_code in (404, 500):
            return response  # Django's technical pages, as django-csp leaves them
        built_from, header = self._built
        if built_from is not policy:  # first use, or the setting was replaced (tests)
            header = build_policy()
            ContentSecurityPolicyMiddleware._built = (policy, header)
        if CSP_HEADER not in response and not getattr(response, "_csp_exempt", False):
            response[CSP_HEADER] = header
        # As django-csp does: a nonce asked for after the header is written is an error, not a silent gap.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response


class CompressionMiddleware(GZipMiddleware):
    """Django's gzip for pages and JSON when the client accepts it; never for streamed responses.

    Gzip buffers what it compresses, so a streamed tutor reply (NDJSON) would reach the browser in lumps
    instead of as it is written: streams pass through as they are. Static files come precompressed from
    whitenoise (production) and carry their own Content-Encoding, which GZipMiddleware leaves alone.
    """

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if response.streaming:
            return response
        return super().process_response(request, response)


class LazyMessageMiddleware(MessageMiddleware):
    """Django's messages, with the storage built only when the request uses it.

    Building it (a cookie storage with its signer and a session storage) costs about a tenth of a
    heartbeat, which neither the API nor most pages need. A storage that was never built was never read
    or written, so it has nothing to save on the response: Django's `update` would do nothing.
    """

    def process_request(self, request: HttpRequest) -> None:
        request._messages = SimpleLazyObject(lambda: default_storage(request))

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        messages = getattr(request, "_messages", None)
        if isinstance(messages, SimpleLazyObject) and messages._wrapped is empty:
            return response
        return super().process_response(request, response)
