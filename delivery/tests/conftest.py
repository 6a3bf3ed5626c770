import pytest

from delivery.tests.repos import ContentRepo


@pytest.fixture
def content_repo(tmp_path):
    """A bare repository holding the demo vault on `main`, and the author's work tree pushing to it."""
    return ContentRepo(tmp_path / "repos")


@pytest.fixture
def git_settings(settings, content_repo, tmp_path):
    """The project configured to follow `content_repo`'s main branch, with a cache in tmp_path."""
    settings.CONTENT_GIT_URL = content_repo.url
    settings.CONTENT_GIT_BRANCH = "main"
    settings.CONTENT_GIT_CACHE_DIR = tmp_path / "cache"
    settings.CONTENT_WEBHOOK_SECRET = "s3cret-for-tests"
    return settings
