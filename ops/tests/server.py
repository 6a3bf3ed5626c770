"""The WSGI application that the live outage tests serve with gunicorn: the project, with the test URLs
and a middleware that reads the session before the view (so a database error is raised in middleware).
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "courseplatform.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

override_settings(
    ROOT_URLCONF="ops.tests.urls",
    MIDDLEWARE=[*settings.MIDDLEWARE, "ops.tests.urls.ReadUserFirstMiddleware"],
).enable()
application = WSGIHandler()
