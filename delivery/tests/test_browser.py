"""The content status page in headless Chromium, as staff and as a learner. Screenshots go to
artifacts/screenshots/ for people to look at."""

from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from delivery.models import SyncRequest
from delivery.tests.factories import ContentSyncFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots"
PASSWORD = "a-long-password-1"


@pytest.fixture
def syncs(live_server, git_settings, content_repo):
    """A real sync of the demo repository, then one with findings in three files; yields the server URL."""
    call_command("sync_content", verbosity=0)
    content_repo.retitle_sleep_lens("Sleep and memory, revisited")
    ContentSyncFactory(location=content_repo.url, started_at=timezone.now())  # the newest
    get_user_model().objects.create_superuser("staffer", "staff@example.com", PASSWORD)
    get_user_model().objects.create_user("learner", "learner@example.com", PASSWORD)
    return live_server.url


def log_in(page, base: str, next_url: str, username: str) -> None:
    page.goto(f"{base}/admin/login/?next={next_url}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_staff_see_syncs_open_findings_and_press_sync_now(syncs, browser_context_factory):
    """Staff see the syncs and the repository, press Sync now (a request is queued, the page says so),
    open a sync's findings and filter them to errors; no script or CSP error on the way."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser_context_factory().new_page()
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, syncs, "/admin/delivery/contentsync/", "staffer")
    expect(page.get_by_role("heading", name="Select content sync to view")).to_be_visible()
    expect(page.get_by_label("Content source")).to_contain_text("origin.git")
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    expect(page.locator("#result_list")).to_contain_text("Add the demo course")
    page.screenshot(path=SCREENSHOTS / "content-status-1280.png", full_page=True)

    page.get_by_role("button", name="Sync now").click()
    expect(page.locator(".messagelist")).to_contain_text("Sync of main queued")
    assert SyncRequest.objects.filter(origin="staff", requested_by="staffer").count() == 1

    page.get_by_role("link", name="Latest findings").click()
    expect(page.get_by_role("heading", name="Findings by file")).to_be_visible()
    expect(page.locator("section.file")).to_have_count(3)
    expect(page.get_by_label("Lenses/Broken.md")).to_contain_text("did you mean `#### Video`?")
    page.screenshot(path=SCREENSHOTS / "content-findings-1280.png", full_page=True)
    page.get_by_role("link", name="error", exact=True).click()
    expect(page.locator("section.file")).to_have_count(2)
    expect(page.get_by_text("title is empty")).to_have_count(0)

    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=SCREENSHOTS / "content-findings-390.png", full_page=True)
    page.goto(f"{syncs}/admin/delivery/contentsync/")
    page.screenshot(path=SCREENSHOTS / "content-status-390.png", full_page=True)
    assert errors == []


def test_a_learner_gets_the_admin_login_page(syncs, browser_context_factory):
    """A logged-in learner asking for the content status page is shown the admin login, not the syncs."""
    page = browser_context_factory().new_page()
    page.goto(f"{syncs}/accounts/login/")
    page.get_by_label("Username").fill("learner")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{syncs}/admin/delivery/contentsync/")
    expect(page).to_have_url(f"{syncs}/admin/login/?next=/admin/delivery/contentsync/")
    expect(page.get_by_text("Add the demo course")).to_have_count(0)
