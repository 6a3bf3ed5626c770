"""HEAD is answered wherever GET is: monitors and link checkers use it.

The test walks the URL resolver (tests/routes.py), so a page added later is covered without editing it.
"""

import pytest
from django.test import Client

from accounts.tests.factories import UserFactory
from tests.routes import routes

pytestmark = pytest.mark.django_db


def concrete_paths(course, session_id: int) -> list[str]:
    lens = course.lenses[0]
    samples = {
        "lens_id": lens.pk,
        "item_id": lens.pk,
        "session_id": session_id,
        "slug": course.module.slug,
        "course_slug": course.course.slug,
        "module_slug": course.module.slug,
        "app_label": "progress",
        "object_id": 1,
        "content_type_id": 1,
        "id": 1,
    }
    return [path for route in routes() if (path := route.path(samples)) is not None]


@pytest.mark.parametrize("who", ["staff", "anonymous learner"])
def test_every_url_answers_head_as_it_answers_get(course, victims, who):
    """Every URL whose GET is not refused with 405 answers HEAD with the same status (pages, API reads,
    CSV files, admin; a success where GET succeeds), and without a body."""
    client = Client()
    if who == "staff":
        client.force_login(UserFactory(username="head-staff", is_staff=True, is_superuser=True))
        session_id = victims[1].chat_session.pk
    else:
        client.cookies["learner_token"] = str(victims[0].learner.session_token)
        session_id = victims[0].chat_session.pk
    checked = 0
    for path in concrete_paths(course, session_id):
        got = client.get(path, HTTP_X_SESSION_TOKEN="") if path.startswith("/api/") else client.get(path)
        if got.status_code == 405:
            continue
        head = client.head(path)
        # Django's admin login redirects a GET of a logged-in user but shows the form to HEAD: both fine.
        same = head.status_code == got.status_code or (head.status_code < 400 and got.status_code < 400)
        assert same, (path, got.status_code, head.status_code)
        assert head.content == b"", path
        checked += 1
    assert checked > 20  # the walk reached the project's pages
