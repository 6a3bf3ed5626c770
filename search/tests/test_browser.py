"""Search results, the header's account menu and the account page in headless Chromium (1280 and 390 px).

Screenshots go to artifacts/screenshots/ (and /work/notes/shots/lx2 when that folder exists).
"""

from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-password-1"
SHOTS = [Path(settings.BASE_DIR) / "artifacts" / "screenshots", Path("/work/notes/shots/lx2")]


def shoot(page, name: str) -> None:
    for folder in SHOTS:
        if folder == SHOTS[0] or folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


@pytest.fixture
def demo(live_server):
    """The demo vault synced (the search index follows at commit), and an account with an email address."""
    call_command("sync_content", str(Path(settings.BASE_DIR) / "content"), verbosity=0)
    get_user_model().objects.create_user("ada", email="ada@example.org", password=PASSWORD)
    return live_server.url


def log_in(page, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", "ada")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.stacked-form button[type=submit]")
    page.wait_for_load_state("load")


@pytest.mark.parametrize("width", [1280, 390])
def test_search_menu_and_account_page(demo, browser_context_factory, width):
    """Search from the header shows ranked, highlighted results that open; the account menu opens with the
    keyboard and leads to the account page; logging out from it says so."""
    page = browser_context_factory(viewport={"width": width, "height": 900}).new_page()
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    log_in(page, demo)

    search_box = page.get_by_role("searchbox", name="Search lenses")
    search_box.fill("forgetting")
    search_box.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Search")).to_be_visible()
    results = page.locator(".search-result")
    expect(results.first).to_be_visible()
    assert results.count() >= 2
    expect(page.locator(".search-result mark").first).to_be_visible()
    expect(search_box).to_have_value("forgetting")
    shoot(page, f"search-results-{width}")
    first_title = results.first.locator("h2 a").inner_text()
    results.first.locator("h2 a").click()
    page.wait_for_load_state("load")
    assert first_title.lower() in page.content().lower()

    menu = page.locator("details.account-menu")
    summary = menu.locator("summary")
    expect(summary).to_contain_text("ada")
    summary.focus()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("open", "")
    expect(menu.get_by_role("link", name="Account")).to_be_visible()
    shoot(page, f"header-menu-{width}")
    menu.get_by_role("link", name="Account").focus()
    page.keyboard.press("Enter")
    page.wait_for_load_state("load")
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    expect(page.locator(".account-details")).to_contain_text("ada@example.org")
    shoot(page, f"account-page-{width}")

    page.locator("details.account-menu summary").click()
    page.locator("details.account-menu").get_by_role("button", name="Log out").click()
    page.wait_for_load_state("load")
    expect(page.locator("#messages")).to_contain_text("You are logged out.")
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    assert errors == []


def test_the_menu_and_search_work_without_javascript(demo, browser_context_factory):
    """With scripting off the <details> menu still opens and the search form still submits."""
    page = browser_context_factory(java_script_enabled=False).new_page()
    log_in(page, demo)
    page.locator("details.account-menu summary").click()
    expect(page.locator("details.account-menu").get_by_role("link", name="My data")).to_be_visible()
    page.get_by_role("searchbox", name="Search lenses").fill("!!!")
    page.get_by_role("searchbox", name="Search lenses").press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("only punctuation")
