"""Who may see drafts: the one rule every page and endpoint under a lens asks (learn and chat alike)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser, AnonymousUser


def previews_drafts(user: AbstractUser | AnonymousUser | None) -> bool:
    """Whether this user sees drafts at their learner URLs (and may use everything under them: chat,
    answers, feedback): active staff with the `content_loader.preview_drafts` permission, which superusers
    have. Everyone else (and a request nobody authenticated: `None`) gets a 404 for a draft."""
    return bool(
        user is not None and user.is_active and user.is_staff and user.has_perm("content_loader.preview_drafts")
    )
