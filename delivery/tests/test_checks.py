"""System checks catch wrong content-from-git settings at start."""

import pytest

from delivery.checks import check_content_git_settings


def ids(settings) -> list[str]:
    return [problem.id for problem in check_content_git_settings(None)]


def test_good_settings_raise_nothing(settings):
    """A valid https URL, a branch and a secret: no problem reported."""
    settings.CONTENT_GIT_URL = "https://github.com/org/course.git"
    settings.CONTENT_WEBHOOK_SECRET = "x"
    assert ids(settings) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"CONTENT_GIT_URL": "http://example.org/c.git"}, ["delivery.E001"]),
        ({"CONTENT_GIT_URL": "https://me:secret@example.org/c.git"}, ["delivery.W002"]),
        ({"CONTENT_GIT_BRANCH": "-bad"}, ["delivery.E002"]),
        ({"CONTENT_WEBHOOK_SECRET": "x", "CONTENT_GIT_URL": ""}, ["delivery.W001"]),
        ({"CONTENT_GIT_SSH_KEY": "/no/such/key"}, ["delivery.E003"]),
    ],
)
def test_wrong_settings_are_reported(settings, changes, expected):
    """Plain http, a password in the URL, an option-like branch, a secret without a URL, a missing key."""
    for name, value in changes.items():
        setattr(settings, name, value)
    assert ids(settings) == expected
