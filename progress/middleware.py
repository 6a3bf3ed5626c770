"""Give every request its learner, and every anonymous page visitor a learner cookie.

`request.learner` is a `Learner` or None, lazy so that a page that never asks costs no query. On a page
it is never None: the session's account; else the token the request carries, unless an account claimed
that token (a dead token), in which case the visitor starts as a fresh anonymous learner and gets a new
cookie; else a freshly minted token, whose cookie is only set when the token was used. Outside pages
(/api/, /admin/) it may resolve to None; the API identifies requests itself (`progress.api.plumbing`).

An anonymous visitor of a page (any path outside /api/, /admin/ and /static/) without a valid cookie
gets a fresh random token, used as `request.learner` during that very request (so the first page view
can record progress) and set as an HttpOnly, SameSite=Lax cookie on the response when the response is an
HTML page or the token was used. After a login the cookie is rotated to a fresh token.
"""

import uuid

from django.conf import settings
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.functional import SimpleLazyObject

from progress.identity import (
    MINTED_TOKEN_ATTR,
    Learner,
    anonymous_token,
    learner_from_request,
    session_user_id,
    token_is_claimed,
)

ROTATED_TOKEN_ATTR = "_progress_rotated_token"
NO_COOKIE_PREFIXES = ("/api/", "/admin/", "/static/")


def set_learner_cookie(response, token: uuid.UUID) -> None:
    response.set_cookie(
        settings.PROGRESS_COOKIE_NAME,
        str(token),
        max_age=settings.PROGRESS_COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=settings.PROGRESS_COOKIE_SECURE,
    )


class LearnerMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token, _via = anonymous_token(request)
        page = not request.path_info.startswith(NO_COOKIE_PREFIXES)
        minted = None
        if token is None and page:
            minted = token = uuid.uuid4()
            setattr(request, MINTED_TOKEN_ATTR, minted)

        has_session = settings.SESSION_COOKIE_NAME in request.COOKIES
        if minted is not None:
            # Lazy: resolving may load the session, and a minted token's cookie is set only if used.
            request.learner = SimpleLazyObject(lambda: self._resolve(request, minted))
        elif token is not None and page:
            # Lazy: whether an account claimed the token is one query, made only when a page needs the learner.
            request.learner = SimpleLazyObject(lambda: self._resolve_carried(request, token))
        elif token is not None or has_session:
            # Outside pages (the API identifies requests itself, progress.api.plumbing): may resolve to None.
            request.learner = SimpleLazyObject(lambda: learner_from_request(request))
        else:
            request.learner = None

        response = self.get_response(request)

        rotated = getattr(request, ROTATED_TOKEN_ATTR, None)
        minted = getattr(request, MINTED_TOKEN_ATTR, None)  # also set when a claimed token was replaced
        if rotated is not None:
            set_learner_cookie(response, rotated)
        elif minted is not None and self._should_set_minted(request, response):
            set_learner_cookie(response, minted)
        return response

    @staticmethod
    def _resolve(request, token: uuid.UUID) -> Learner:
        user_id = session_user_id(request)
        if user_id is not None:
            return Learner(user_id=user_id)
        request._progress_minted_token_used = True
        return Learner(session_token=token)

    @classmethod
    def _resolve_carried(cls, request, token: uuid.UUID) -> Learner:
        """The page's learner for a token the request carries; a claimed token starts a fresh learner."""
        user_id = session_user_id(request)
        if user_id is not None:
            return Learner(user_id=user_id)
        if not token_is_claimed(request, token):
            return Learner(session_token=token)
        fresh = uuid.uuid4()
        setattr(request, MINTED_TOKEN_ATTR, fresh)
        return cls._resolve(request, fresh)

    @staticmethod
    def _should_set_minted(request, response) -> bool:
        if getattr(request, "_progress_minted_token_used", False):
            return True
        is_html = response.get("Content-Type", "").startswith("text/html")
        return is_html and session_user_id(request) is None


# What every learner-dependent response says about caching: nobody but this browser may keep it (private),
# and the browser must ask again before showing it (no-cache), even on Back (no-store: Chromium shows a
# no-cache page from its HTTP cache on Back without asking, which is how a stale chat came back).
LEARNER_CACHE_CONTROL = {"private": True, "no_cache": True, "no_store": True}
LEARNER_VARY = ("Cookie", "X-Session-Token")


class LearnerCacheMiddleware:
    """Mark every response that may depend on the learner as private and never reused without asking.

    Every page and JSON answer behind this middleware names the learner or their progress somewhere (a
    completion mark, a chat, the account menu), so all of them get `Cache-Control: private, no-cache,
    no-store` and `Vary: Cookie, X-Session-Token`. A view whose answer is the same for everyone says so
    with `Cache-Control: public` (the OpenAPI document) and is left alone. Static files never reach it
    (WhiteNoise answers them first).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "public" not in response.get("Cache-Control", ""):
            patch_cache_control(response, **LEARNER_CACHE_CONTROL)
            patch_vary_headers(response, LEARNER_VARY)
        return response
