"""The plumbing of the JSON API: method, size, identity, CSRF and body checks, and JSON errors.

Every refusal is a JSON body `{"error": "<what is wrong, in words>"}` with its status: 401 without an
identity (a token an account claimed is none), 400 for a malformed body or field, 403 for a failed CSRF
check, 404 for an unknown slug or a heartbeat's unknown UUID, 405 for a wrong method, 413 for a body
over 64 KiB, 429 past a rate limit (with Retry-After), 503 while the database is unreachable. Requests
identified by a cookie (the session or the learner cookie) need Django's CSRF token, in the
`X-CSRFToken` header, a form field, or the `csrfmiddlewaretoken` key of a JSON body (what a
`navigator.sendBeacon` call can carry); requests identified by the `X-Session-Token` header alone don't.
"""

import functools
import json
import uuid

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db import DataError
from django.http import JsonResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt

from ops import ratelimit
from progress.identity import Via, identify
from progress.services import InvalidProgress, TokenClaimed, UnknownContent

MAX_BODY_BYTES = 64 * 1024
MAX_TITLE_LENGTH = 500
MAX_CLIENT_SECONDS = 24 * 60 * 60
MAX_TIME_DELTA_S = 3600
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_response(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


class Payload(dict):
    """A request body as a dict; `form` says it was form-encoded (numbers then arrive as text)."""

    form: bool = False


class _CsrfCheck(CsrfViewMiddleware):
    def _reject(self, request, reason):
        return reason


def _csrf_failure(request, payload: Payload) -> str | None:
    """Why the request fails Django's CSRF check, or None when it passes."""
    token = payload.get("csrfmiddlewaretoken")
    if not payload.form and isinstance(token, str) and settings.CSRF_HEADER_NAME not in request.META:
        request.META[settings.CSRF_HEADER_NAME] = token
    check = _CsrfCheck(lambda request: None)
    check.process_request(request)
    return check.process_view(request, None, (), {})


def parse_body(request) -> Payload:
    """The body as a dict: JSON (any content type, for sendBeacon Blobs and text/plain) or a form."""
    payload = Payload()
    if request.content_type in FORM_TYPES:
        try:
            payload.update(request.POST.items())
        except (MultiPartParserError, SuspiciousOperation, UnreadablePostError, ValueError):
            raise ApiError(400, "The form body could not be read.") from None
        payload.form = True
        return payload
    try:
        data = json.loads(request.body)
    except (ValueError, RecursionError):
        raise ApiError(400, "The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "The body must be a JSON object.")
    payload.update(data)
    return payload


NO_LEARNER = "No learner: log in, or send a UUID in the X-Session-Token header."
DEAD_TOKEN = (
    "This anonymous token was claimed by an account and can do nothing any more: log in to that account, "
    "or start afresh with a new token."
)


def api_view(*methods: str, user_only: bool = False, claimed_token_checked: bool = False):
    """Check method, size, identity, CSRF and body; call `view(request, learner, payload, **kwargs)`.

    A view that answers GET answers HEAD too (monitors and link checkers use it; the server sends no body).
    A claimed token is no identity (401); `claimed_token_checked` leaves that check to the view's own
    statement (the heartbeat's one SQL statement), which raises TokenClaimed.
    """
    if "GET" in methods and "HEAD" not in methods:
        methods = (*methods, "HEAD")

    def decorator(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapped(request, **kwargs):
            if request.method not in methods:
                response = error_response(405, f"This URL accepts {' and '.join(methods)} only.")
                response["Allow"] = ", ".join(methods)
                return response
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return error_response(400, "The Content-Length header is not a number.")
            if length > MAX_BODY_BYTES:
                return error_response(413, f"The body is over {MAX_BODY_BYTES // 1024} KiB.")
            try:
                learner, via = identify(request, check_claimed=not claimed_token_checked)
                if learner is None:
                    raise ApiError(401, DEAD_TOKEN if via is Via.CLAIMED else NO_LEARNER)
                if user_only and not learner.is_authenticated:
                    raise ApiError(401, "Log in first.")
                payload = Payload()
                if request.method == "POST":
                    payload = parse_body(request)
                    if via is not Via.HEADER and (reason := _csrf_failure(request, payload)):
                        raise ApiError(403, f"CSRF verification failed: {reason}")
                return view(request, learner, payload, **kwargs)
            except ApiError as exc:
                return error_response(exc.status, exc.message)
            except UnknownContent as exc:
                return error_response(404, str(exc))
            except InvalidProgress as exc:  # the service refused the write; it says why
                return error_response(400, str(exc))
            except TokenClaimed:
                return error_response(401, DEAD_TOKEN)
            except ratelimit.RateLimited as refusal:
                response = error_response(
                    429,
                    f"Too many requests of this kind ({refusal.limit} per {refusal.window_text}); "
                    f"try again in {refusal.wait}.",
                )
                response["Retry-After"] = str(refusal.retry_after)
                return response
            except DataError:
                return error_response(400, "A value is out of range.")
            # OperationalError and InterfaceError (the database is down) propagate to
            # ops.middleware.DatabaseUnavailableMiddleware: one 503 answer, with Retry-After, for the whole site.

        return wrapped

    return decorator


def uuid_field(payload: Payload, name: str) -> uuid.UUID:
    value = payload.get(name)
    if not isinstance(value, str):
        raise ApiError(400, f"{name} is required and must be a UUID string.")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ApiError(400, f"{name} is not a UUID: {value[:60]!r}.") from None


def int_field(payload: Payload, name: str, *, low: int, high: int, required: bool = True) -> int | None:
    value = payload.get(name)
    if value is None and not required:
        return None
    if payload.form and isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 10:
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ApiError(400, f"{name} must be a whole number from {low} to {high}.")
    return value


def str_field(payload: Payload, name: str, *, max_length: int) -> str | None:
    """An optional string field: None when absent."""
    value = payload.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"{name} must be a string.")
    if len(value) > max_length:
        raise ApiError(400, f"{name} is over {max_length} characters.")
    if "\x00" in value or _has_lone_surrogate(value):
        raise ApiError(400, f"{name} contains a NUL character or a lone surrogate.")
    return value


def _has_lone_surrogate(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
