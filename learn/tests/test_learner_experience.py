"""Course structure that reads, statuses and next steps: names, units, resume, completion."""

import datetime as dt
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from content_loader.models import ModuleEntry
from content_loader.tests.factories import LensFactory, make_course, make_module
from learn.models import CourseRun, MeetingDate
from learn.templatetags.learn_tags import clock
from learn.tests.factories import body_of, chat_segment, text_segment
from progress.models import UserContentProgress

pytestmark = pytest.mark.django_db


def lens_ids(module) -> list:
    return list(ModuleEntry.objects.filter(module=module).order_by("position").values_list("item_id", flat=True))


def lens_url(course, module, lens_id) -> str:
    return reverse("learn:lens", kwargs={"course_slug": course.slug, "module_slug": module.slug, "lens_id": lens_id})


def complete(client, course, module, lens_id):
    url = reverse(
        "learn:complete-lens", kwargs={"course_slug": course.slug, "module_slug": module.slug, "lens_id": lens_id}
    )
    return client.post(url, headers={"HX-Request": "true"}).content.decode()


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response
    return response.content.decode()


@pytest.fixture
def nested():
    """A course whose two modules "Welcome" and "Dive Deeper" each have a submodule "Welcome"."""
    first = make_module(lenses=1, slug="one", title="Week one")
    first_sub = make_module(lenses=2, slug="one/welcome", title="Welcome", parent=first)
    second = make_module(lenses=1, slug="two", title="Week two")
    second_sub = make_module(lenses=1, slug="two/welcome", title="Welcome", parent=second)
    course = make_course(units=[[first, first_sub], [second, second_sub]], slug="nested", title="Nested")
    return course, first_sub, second_sub


def test_submodules_are_named_parent_colon_sub_on_overview_my_progress_and_titles(client, nested):
    """Two submodules both titled "Welcome" read "Week one: Welcome" and "Week two: Welcome" everywhere."""
    course, first_sub, _ = nested
    client.get("/")
    complete(client, course, first_sub, lens_ids(first_sub)[0])

    overview = page(client, reverse("learn:course", args=[course.slug]))
    assert "Week one: Welcome" in overview and "Week two: Welcome" in overview
    assert "Week one: Welcome" in page(client, reverse("learn:my-progress"))
    lens = page(client, lens_url(course, first_sub, lens_ids(first_sub)[1]))
    title = re.search(r"<title>(.*?)</title>", lens).group(1)
    assert title == f"one/welcome lens 2 · Week one: Welcome · Nested · {settings.SITE_NAME}"


def test_units_are_named_by_their_meeting_with_the_current_runs_dates(client):
    """ "Before meeting 1: Meeting 1" is not said twice; a current run's dates show, a past run's do not."""
    course = make_course(units=[[make_module(lenses=1, slug="a")], [make_module(lenses=1, slug="b")]], slug="c")
    today = timezone.localdate()
    past = CourseRun.objects.create(course=course, name="Old cohort", starts_on=today - dt.timedelta(days=90))
    MeetingDate.objects.create(run=past, number=1, date=today - dt.timedelta(days=80))
    run = CourseRun.objects.create(course=course, name="Winter cohort", starts_on=today - dt.timedelta(days=3))
    MeetingDate.objects.create(run=run, number=1, date=today + dt.timedelta(days=4))
    MeetingDate.objects.create(run=run, number=2, date=today + dt.timedelta(days=11))

    overview = page(client, reverse("learn:course", args=[course.slug]))

    assert "Unit 1" not in overview and ">Before meeting 1<" in overview and ">After meeting" not in overview
    assert "<strong>Meeting 1</strong>" in overview and "Meeting 1: Meeting 1" not in overview
    assert f'<time datetime="{today + dt.timedelta(days=4):%Y-%m-%d}">' in overview
    assert f'<time datetime="{today + dt.timedelta(days=11):%Y-%m-%d}">' in overview
    assert "Dates of Winter cohort" in overview and "Old cohort" not in overview

    MeetingDate.objects.filter(run=run, number=2).update(date=today + dt.timedelta(days=12))  # moved in the admin
    moved = page(client, reverse("learn:course", args=[course.slug]))
    assert f'<time datetime="{today + dt.timedelta(days=12):%Y-%m-%d}">' in moved
    assert f'<time datetime="{today + dt.timedelta(days=11):%Y-%m-%d}">' not in moved
    run.delete()
    assert "<time" not in page(client, reverse("learn:course", args=[course.slug]))


def test_a_module_of_only_optional_lenses_shows_optional_not_zero_of_zero(client):
    """A module without a required lens reads "Optional" on the overview and My progress, never "0/0"."""
    extras = make_module(lenses=0, optional=2, slug="extras", title="Extras")
    course = make_course(units=[[make_module(lenses=1, slug="core"), extras]], slug="opt")
    client.get("/")
    complete(client, course, extras, lens_ids(extras)[0])

    for url in (reverse("learn:course", args=[course.slug]), reverse("learn:my-progress")):
        html = page(client, url)
        assert "0/0" not in html and 'badge--optional">Optional<' in html


def test_continue_resumes_at_the_last_lens_opened(client):
    """The course's and the home card's "Continue" go to the lens open last when it is not completed, and
    to the next required step after it once it is."""
    first = make_module(lenses=3, slug="first")
    second = make_module(lenses=2, slug="second")
    course = make_course(units=[[first, second]], slug="resume", title="Resume")
    client.get("/")
    ids = lens_ids(first)
    assert f'href="{lens_url(course, first, ids[0])}">Start' in page(client, "/")

    complete(client, course, first, ids[0])
    token = client.cookies["learner_token"].value
    later = timezone.now() + dt.timedelta(minutes=5)
    UserContentProgress.objects.create(
        session_token=token, content_id=lens_ids(second)[1], content_type="lens", started_at=later
    )
    target = lens_url(course, second, lens_ids(second)[1])
    assert f'href="{target}">Continue' in page(client, "/")
    assert f'href="{target}">Continue: ' in page(client, reverse("learn:course", args=[course.slug]))

    UserContentProgress.objects.filter(content_id=lens_ids(second)[1]).update(completed_at=later)
    # The last lens of the course is done: back to the first required lens left, the first module's second.
    assert f'href="{lens_url(course, first, ids[1])}">Continue' in page(client, "/")


def test_mark_complete_shows_completed_and_a_next_button_without_moving_on(client):
    """ "Mark complete" answers with "Completed" (a live region) and "Next: <title>", and no auto-advance."""
    module = make_module(lenses=2, slug="m")
    course = make_course(units=[[module]], slug="next")
    client.get("/")
    html = complete(client, course, module, lens_ids(module)[0])
    assert re.search(r'role="status" aria-live="polite"><span aria-hidden="true">✓</span> Completed', html)
    assert "Next: m lens 2" in html and "hx-trigger" not in html.split('id="stage-bar"')[0]


def test_a_finished_course_says_so_everywhere(client, django_user_model):
    """The last module's dialog says "Course completed"; the overview has a banner with the date, the home
    card "Completed", and the completion page names the learner, the course, the date and the time."""
    user = django_user_model.objects.create_user("ada", "ada@example.org", "pw-Long-enough-1")
    user.first_name, user.last_name = "Ada", "Lovelace"
    user.save()
    client.force_login(user)
    first = make_module(lenses=1, slug="first")
    last = make_module(lenses=1, slug="last")
    course = make_course(units=[[first], [last]], slug="done", title="Finished course")
    completion_url = reverse("learn:course-completion", args=[course.slug])
    assert client.get(completion_url).status_code == 404

    assert "Course completed" not in complete(client, course, first, lens_ids(first)[0])
    dialog = complete(client, course, last, lens_ids(last)[0])
    assert ">Course completed<" in dialog and f'href="{completion_url}"' in dialog
    assert "Continue to next module" not in dialog

    today = timezone.localdate()
    overview = page(client, reverse("learn:course", args=[course.slug]))
    assert "<strong>Course completed</strong> on " + f"{today:%-d %B %Y}" in overview
    home = page(client, "/")
    assert 'badge--completed">Completed<' in home and ">Review<" in home
    record = page(client, completion_url)
    assert "Ada Lovelace" in record and "Finished course" in record and f"{today:%-d %B %Y}" in record
    assert "Total active time:" in record and "data-print" in record


def test_completion_page_refuses_a_course_not_finished(client):
    """Before the course is completed its completion page is a 404 with a message saying why."""
    course = make_course(units=[[make_module(lenses=1, slug="x")]], slug="unfinished")
    response = client.get(reverse("learn:course-completion", args=[course.slug]))
    assert response.status_code == 404 and "not completed this course yet" in response.content.decode()


def test_without_a_tutor_a_lens_says_so_once_instead_of_a_chat_box_per_chat(client, settings):
    """No tutor configured: one "turned off" notice for the lens, not a disabled chat box per chat segment."""
    settings.TUTOR_BASE_URL = ""
    lens = LensFactory(body=body_of(text_segment(0, "Read."), chat_segment(1), chat_segment(2)))
    module = make_module(lenses=0, slug="chats")
    ModuleEntry.objects.create(module=module, position=0, item=lens)
    course = make_course(units=[[module]], slug="chatty")
    html = page(client, lens_url(course, module, lens.pk))
    assert html.count("The AI tutor is turned off on this site") == 1
    assert "chat__form" not in html and "Discuss with the tutor" not in html


def test_favicon_and_video_times():
    """Pages link an SVG and a PNG favicon served from static/; video ranges read m:ss."""
    base = (Path(settings.BASE_DIR) / "templates" / "base.html").read_text()
    assert "img/favicon.svg" in base and "img/favicon.png" in base
    assert (Path(settings.BASE_DIR) / "static" / "img" / "favicon.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [clock(5), clock(65), clock(754.6), clock(3725)] == ["0:05", "1:05", "12:34", "1:02:05"]
