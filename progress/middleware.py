"""Give every request its learner, and every anonymous page visitor a learner cookie.

`request.learner` is a `Learner` or None, decided without a query whenever possible: with a token and no
session cookie it is that token's learner, with neither it is None. Where the answer needs the session
(a session cookie is present) it is lazy if it cannot be None (a token is at hand), else resolved at
once; a freshly minted token is lazy too, so that its cookie is only set when the token was used.

An anonymous visitor of a page (any path outside /api/, /admin/ and /static/) without a valid cookie
gets a fresh random token, used as `request.learner` during that very request (so the first page view
can record progress) and set as an HttpOnly, SameSite=Lax cookie on the response when the response is an
HTML page or the token was used. After a login the cookie is rotated to a fresh token.
"""

import uuid

from django.conf import settings
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.functional import SimpleLazyObject

from progress.identity import MINTED_TOKEN_ATTR, Learner, anonymous_token, learner_from_request, session_user_id

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
        minted = None
        if token is None and not request.path_info.startswith(NO_COOKIE_PREFIXES):
            minted = token = uuid.uuid4()
            setattr(request, MINTED_TOKEN_ATTR, minted)

        has_session = settings.SESSION_COOKIE_NAME in request.COOKIES
        if token is not None and (has_session or minted is not None):
            # Lazy: resolving may load the session, and a minted token's cookie is set only if used.
            request.learner = SimpleLazyObject(lambda: self._resolve(request, token))
        elif token is not None:
            request.learner = Learner(session_token=token)  # without a session nobody is logged in
        elif has_session:
            request.learner = learner_from_request(request)
        else:
            request.learner = None

        response = self.get_response(request)

        rotated = getattr(request, ROTATED_TOKEN_ATTR, None)
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
