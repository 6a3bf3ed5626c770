"""A learner: an account or an anonymous token, exactly one of the two.

Below every app that stores a learner's rows (`chat`, `roleplay`, `progress`, the pages above them), so
that each can name a learner the same way. It knows no request and no database: `progress.identity`
decides which learner a request is, and `request.learner` carries it.
"""

import uuid
from dataclasses import dataclass


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
