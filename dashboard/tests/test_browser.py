"""The dashboard in headless Chromium: staff see the charts, a learner gets the login page.

Runs against the live server on PostgreSQL with the demo course of content/ and a cohort of learners.
Screenshots go to artifacts/screenshots/ for people to look at.
"""

import random
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from content_loader.models import ContentItem, CourseEntry, ModuleEntry
from progress.models import UserContentProgress

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots"
PASSWORD = "a-long-password-1"


@pytest.fixture
def demo(live_server):
    """The demo course with 24 learners at different depths of it; yields the server URL."""
    call_command("sync_content", str(Path(settings.BASE_DIR) / "content"), verbosity=0)
    course = ContentItem.objects.courses().get()
    modules = [e.module_id for e in CourseEntry.objects.filter(course=course, kind="module").order_by("position")]
    steps = [
        entry
        for module_id in modules
        for entry in ModuleEntry.objects.filter(module_id=module_id).select_related("item").order_by("position")
    ]
    randomly = random.Random(1)
    now = timezone.now()
    for number in range(24):
        password = PASSWORD if number == 1 else None  # hashing every password would be slow
        user = get_user_model().objects.create_user(f"learner{number}", password=password) if number % 3 else None
        owner = {"user": user, "session_token": None if user else uuid.uuid4()}
        depth = randomly.randint(0, len(steps))
        for index, entry in enumerate(steps[: depth + 1]):
            seconds = int(entry.item.estimated_seconds * randomly.uniform(0.6, 2.2))
            UserContentProgress.objects.create(
                **owner,
                content_id=entry.item_id,
                content_type=entry.item.content_type,
                content_title=entry.item.title,
                started_at=now - timedelta(days=2),
                completed_at=now - timedelta(days=1) if index < depth else None,
                time_to_complete_s=seconds,
                total_time_spent_s=seconds,
                last_heartbeat_at=now - timedelta(days=1),
            )
    get_user_model().objects.create_superuser("staffer", "staff@example.com", PASSWORD)
    get_user_model().objects.create_user("learner", "learner@example.com", PASSWORD)
    return live_server.url


def log_in(page, base: str, url: str, username: str) -> None:
    page.goto(f"{base}{url}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_staff_see_the_charts_and_a_learner_gets_the_login_page(demo, browser_context_factory):
    """Staff reach the course dashboard from the admin home and see both charts drawn, with no CSP or
    script error; a logged-in learner asking for the dashboard gets the admin login page instead."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser_context_factory().new_page()
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))

    log_in(page, demo, "/admin/login/?next=/admin/", "staffer")
    page.get_by_role("link", name="Progress dashboard").click()
    page.get_by_role("link", name="Learning That Sticks").click()
    charts = page.get_by_role("img")
    expect(charts).to_have_count(3)  # modules, lens times, AI scores
    for chart in charts.all()[:2]:  # the third, AI scores, is empty here (no scored answers)
        expect(chart).to_be_visible()
        box = chart.bounding_box()
        assert box["width"] > 600 and box["height"] > 100
    assert page.locator("svg rect[fill='#1a7f37']").count() >= 1  # completed shares are drawn
    assert page.locator("svg circle").count() >= 2 * 9  # an estimate (and mostly a median) per lens
    expect(page.get_by_text("Cohort: 24 learners")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "dashboard-course.png"), full_page=True)

    page.get_by_role("link", name="Progress rows").first.click()
    page.get_by_role("link", name="dashboard").first.click()
    expect(page.get_by_role("heading", name="Tutor conversations (0)")).to_be_visible()
    page.locator("details summary").first.click()
    page.screenshot(path=str(SCREENSHOTS / "dashboard-learner.png"), full_page=True)
    assert errors == []

    learner = browser_context_factory().new_page()
    log_in(learner, demo, "/accounts/login/", "learner")
    learner.goto(f"{demo}/admin/dashboard/courses/learning-that-sticks/")
    expect(learner).to_have_url(f"{demo}/admin/login/?next=/admin/dashboard/courses/learning-that-sticks/")
    expect(learner.get_by_text("You are authenticated as learner")).to_be_visible()
    expect(learner.get_by_role("img")).to_have_count(0)
    learner.screenshot(path=str(SCREENSHOTS / "dashboard-learner-refused.png"), full_page=True)


def test_a_learner_downloads_then_deletes_their_data(demo, browser_context_factory):
    """From My progress, an account downloads its data file, then deletes everything after confirming."""
    page = browser_context_factory().new_page()
    log_in(page, demo, "/accounts/login/", "learner1")
    page.goto(f"{demo}/my-progress/")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download my data").click()
    assert download.value.suggested_filename == "my-courseplatform-data.json"
    page.get_by_role("link", name="Delete my data").click()
    page.get_by_label("I understand").check()
    page.screenshot(path=str(SCREENSHOTS / "my-data-delete.png"), full_page=True)
    page.get_by_role("button", name="Delete everything").click()
    expect(page.get_by_text("and your account.")).to_be_visible()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
