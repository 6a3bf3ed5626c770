"""Who the learner is: a logged-in account, or an anonymous token.

A logged-in learner is identified by the Django session and any token is then ignored. An anonymous
learner is identified by a random UUID: the `X-Session-Token` header (API clients) or the learner cookie
that `LearnerMiddleware` sets on the first page view. Anything that is not a UUID counts as absent, and
so does a token an account claimed (a dead token: whoever still holds it, a copied cookie on a shared
computer, is nobody and never reaches the account's data).
"""

import enum
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.utils.functional import SimpleLazyObject, empty

TOKEN_HEADER = "HTTP_X_SESSION_TOKEN"
# Set by LearnerMiddleware on a first page view: the token the new cookie will carry.
MINTED_TOKEN_ATTR = "_progress_minted_token"


@dataclass(frozen=True)
class Learner:
    """Exactly one of `user_id` and `session_token` is set."""

    user_id: int | None = None
    session_token: uuid.UUID | None = None

    def __post_init__(self) -> None:
        if (self.user_id is None) == (self.session_token is None):
            raise ValueError("A learner is an account or a token, exactly one of the two.")

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None

    @property
    def label(self) -> str:
        """The learner as audit records name (and are looked up by): "user 12" or "token <uuid>", never a name."""
        return f"user {self.user_id}" if self.user_id is not None else f"token {self.session_token}"

    @property
    def lock_key(self) -> tuple[int, int]:
        """Two 32-bit integers naming this learner for PostgreSQL advisory locks."""
        if self.user_id is not None:
            return 0x50524F55, self.user_id & 0x7FFFFFFF  # "PROU"
        assert self.session_token is not None  # exactly one is set (__post_init__)
        return 0x50524F54, int.from_bytes(self.session_token.bytes[:4], "big", signed=True)  # "PROT"


class Via(enum.Enum):
    """How a request identified its learner; only the header alone needs no CSRF token.

    CLAIMED: the request carried only a token an account claimed, so it has no learner.
    """

    SESSION = "session"
    HEADER = "header"
    COOKIE = "cookie"
    CLAIMED = "claimed"


def parse_token(value: str | None) -> uuid.UUID | None:
    """The UUID in `value`, or None for anything else (garbage counts as absent)."""
    if not value or len(value) > 45:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def anonymous_token(request) -> tuple[uuid.UUID | None, Via | None]:
    """The request's anonymous token and where it came from, ignoring any logged-in user."""
    found = request.__dict__.get("_progress_anonymous_token")
    if found is None:
        token = parse_token(request.META.get(TOKEN_HEADER))
        if token is not None:
            found = token, Via.HEADER
        elif (token := parse_token(request.COOKIES.get(settings.PROGRESS_COOKIE_NAME))) is not None:
            found = token, Via.COOKIE
        else:
            found = None, None
        request._progress_anonymous_token = found  # the headers and cookies don't change
    if found[0] is None and (minted := getattr(request, MINTED_TOKEN_ATTR, None)) is not None:
        return minted, Via.COOKIE
    return found


def session_user_id(request) -> int | None:
    """The logged-in user's id, without loading the session when the request carries no session cookie."""
    user = getattr(request, "user", None)
    if user is None:
        return None
    if (
        settings.SESSION_COOKIE_NAME not in request.COOKIES
        and isinstance(user, SimpleLazyObject)
        and user._wrapped is empty
    ):
        return None  # no session, and no login during this request (that would have replaced request.user)
    return user.pk if user.is_authenticated else None


def token_is_claimed(request, token: uuid.UUID) -> bool:
    """Whether an account claimed the token (one query, remembered for the request)."""
    known = request.__dict__.setdefault("_progress_claimed_tokens", {})
    if token not in known:
        from progress.models import ClaimedToken  # the models import this module

        known[token] = ClaimedToken.objects.filter(token=token).exists()
    return known[token]


def identify(request, *, check_claimed: bool = True) -> tuple[Learner | None, Via | None]:
    """The request's learner and how it was identified: session, then header, then cookie.

    A claimed token is no learner: (None, Via.CLAIMED). `check_claimed=False` leaves that check to the
    caller's own statement (the heartbeat's).
    """
    user_id = session_user_id(request)
    if user_id is not None:
        return Learner(user_id=user_id), Via.SESSION
    token, via = anonymous_token(request)
    if token is None:
        return None, None
    if check_claimed and token != getattr(request, MINTED_TOKEN_ATTR, None) and token_is_claimed(request, token):
        return None, Via.CLAIMED
    return Learner(session_token=token), via


def learner_from_request(request) -> Learner | None:
    """The logged-in user; else a valid X-Session-Token header; else the learner cookie."""
    return identify(request)[0]
