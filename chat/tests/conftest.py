"""Fixtures of the chat tests: a fake tutor server on 127.0.0.1, configured as the tutor."""

import pytest

from chat.tests.fake_tutor import FakeTutorServer


@pytest.fixture
def tutor_server(settings):
    """A running fake tutor, configured in settings (short timeouts so failure tests are quick)."""
    server = FakeTutorServer().start()
    settings.TUTOR_BASE_URL = server.base_url
    settings.TUTOR_API_KEY = "test-key"
    settings.TUTOR_MODEL = "fake-model"
    settings.TUTOR_TIMEOUT_SECONDS = 2
    settings.TUTOR_MAX_REPLY_SECONDS = 10
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def no_tutor(settings):
    """No tutor configured."""
    settings.TUTOR_BASE_URL = ""
    settings.TUTOR_MODEL = ""
