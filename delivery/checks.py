"""System checks of the content-from-git settings: a wrong one is reported at start, not at the first push."""

import os
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Warning, register

from . import git


@register()
def check_content_git_settings(app_configs, **kwargs):
    problems = []
    if settings.CONTENT_GIT_URL:
        try:
            git.validate_url(settings.CONTENT_GIT_URL)
        except git.GitError as exc:
            problems.append(Error(str(exc), hint="Set CONTENT_GIT_URL to the course repository.", id="delivery.E001"))
        if urlsplit(settings.CONTENT_GIT_URL).password:
            problems.append(
                Warning(
                    "CONTENT_GIT_URL holds a password",
                    hint="Put the token in CONTENT_GIT_TOKEN and leave the URL without credentials.",
                    id="delivery.W002",
                )
            )
    try:
        git.validate_ref(settings.CONTENT_GIT_BRANCH)
    except git.GitError as exc:
        problems.append(Error(str(exc), hint="Set CONTENT_GIT_BRANCH to a branch name.", id="delivery.E002"))
    if settings.CONTENT_WEBHOOK_SECRET and not settings.CONTENT_GIT_URL:
        problems.append(
            Warning(
                "CONTENT_WEBHOOK_SECRET is set but CONTENT_GIT_URL is not: pushes will queue syncs that fail",
                hint="Set CONTENT_GIT_URL to the repository the webhook belongs to.",
                id="delivery.W001",
            )
        )
    if settings.CONTENT_GIT_SSH_KEY and not os.path.isfile(settings.CONTENT_GIT_SSH_KEY):
        problems.append(
            Error(f"CONTENT_GIT_SSH_KEY {settings.CONTENT_GIT_SSH_KEY!r} is not a file", id="delivery.E003")
        )
    return problems
