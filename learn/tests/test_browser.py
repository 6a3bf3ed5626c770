"""The learner pages in headless Chromium against a live server on PostgreSQL.

Screenshots of the overview and the module viewer (desktop and phone width) go to
artifacts/screenshots/ for people to look at.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots"
PASSWORD = "a-long-password-1"
COURSE = "learning-that-sticks"
MODULE = "why-we-forget"


def open_module(page, base: str) -> None:
    page.goto(f"{base}/")
    page.get_by_role("link", name="Learning That Sticks").first.click()
    page.get_by_role("link", name=re.compile(r"^Start: Why we forget")).click()
    expect(page.locator("#lens-title")).to_be_visible()
    # htmx enhances the page at DOMContentLoaded: a click before that would be a plain form post (by design).
    page.wait_for_load_state("load")


def mark_complete_and_advance(page) -> None:
    """ "Mark complete" keeps the page on the lens and focuses "Next: <title>"; Enter goes on."""
    title = page.locator("#lens-title").inner_text()
    page.get_by_role("button", name="Mark complete").click()
    expect(page.locator("#complete")).to_contain_text("Completed")
    next_button = page.get_by_role("link", name=re.compile(r"^Next: "))
    expect(next_button).to_be_focused()
    expect(page.locator("#lens-title")).to_have_text(title)
    page.keyboard.press("Enter")
    expect(page.locator("#lens-title")).not_to_have_text(title)


def module_row(page, title: str):
    return page.locator(".module-row", has=page.get_by_role("link", name=title, exact=True))


def test_anonymous_progress_survives_reload_and_shows_on_the_overview(demo, browser_context_factory):
    """An anonymous learner completes two lenses, reloads and still sees them completed; the overview
    says "In progress" with "2/3"; screenshots of both pages at desktop and phone width are saved."""
    page = browser_context_factory().new_page()
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_module(page, demo)
    mark_complete_and_advance(page)
    expect(page.locator("#fraction")).to_have_text("Progress: 1/3 required lenses")
    expect(page).to_have_url(re.compile(r"/lenses/[0-9a-f-]{36}/$"))
    mark_complete_and_advance(page)

    page.reload()
    expect(page.locator("#fraction")).to_have_text("Progress: 2/3 required lenses")
    expect(page.locator(".drawer__list .mark--done")).to_have_count(2)
    expect(page.locator(".stage-dots .dot--completed")).to_have_count(2)
    expect(page.locator(".progress[role=progressbar]")).to_have_attribute("aria-valuenow", "2")
    expect(page.locator('.stage-dots [aria-current="step"]')).to_have_count(1)

    page.goto(f"{demo}/courses/{COURSE}/")
    row = module_row(page, "Why we forget")
    expect(row.locator(".badge")).to_have_text("In progress")
    expect(row.locator(".fraction")).to_contain_text("2/3")
    # No script errors and nothing refused by the Content-Security-Policy (the blocked YouTube embed aside).
    assert [error for error in errors if "youtube" not in error.lower()] == []

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, viewport in {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}.items():
        page.set_viewport_size(viewport)
        page.goto(f"{demo}/courses/{COURSE}/")
        page.screenshot(path=SCREENSHOTS / f"overview-{name}.png", full_page=True)
        page.goto(f"{demo}/courses/{COURSE}/modules/{MODULE}/")
        page.screenshot(path=SCREENSHOTS / f"module-{name}.png", full_page=True)


def test_last_required_lens_opens_the_module_dialog(demo, browser_context_factory):
    """Completing the module's last required lens opens the "Module completed" dialog (modal, with the
    optional content offer); reviewing the module afterwards does not reopen it."""
    page = browser_context_factory().new_page()
    open_module(page, demo)
    mark_complete_and_advance(page)
    mark_complete_and_advance(page)
    page.get_by_role("button", name="Mark complete").click()

    dialog = page.get_by_role("dialog", name="Module completed")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("link", name="View optional content (1 lens)")).to_be_visible()
    expect(dialog.get_by_role("link", name="Continue to next module")).to_be_visible()
    expect(dialog.get_by_role("link", name="Back to course overview")).to_be_visible()
    # Rendered open for pages without JavaScript; module.js then makes it modal: wait for that.
    page.wait_for_function("document.querySelector('dialog').matches(':modal')", timeout=5000)
    page.screenshot(path=SCREENSHOTS / "module-dialog-desktop.png")

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.reload()
    expect(page.get_by_role("dialog")).to_have_count(0)

    page.goto(f"{demo}/courses/{COURSE}/")
    row = module_row(page, "Why we forget")
    expect(row.locator(".badge")).to_have_text("Completed")
    expect(row.get_by_role("link", name=re.compile("^Review"))).to_be_visible()


def test_signing_up_keeps_progress_shows_the_receipt_and_follows_to_another_browser(demo, browser_context_factory):
    """After two anonymous completions the learner signs up: the progress stays, the receipt is shown,
    and a second browser logged in as the same user sees the same progress."""
    page = browser_context_factory().new_page()
    open_module(page, demo)
    mark_complete_and_advance(page)
    mark_complete_and_advance(page)
    expect(page.locator("#account-prompt")).to_contain_text("Create an account to keep your progress on every device")

    page.locator("#account-prompt").get_by_role("link").click()
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password:", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation:").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()

    expect(page.locator("#messages")).to_contain_text("Saved your progress")
    expect(page.locator("#fraction")).to_have_text("Progress: 2/3 required lenses")
    expect(page.locator("#account-prompt")).not_to_contain_text("Create an account")

    other = browser_context_factory().new_page()
    other.goto(f"{demo}/accounts/login/?next=/courses/{COURSE}/")
    other.get_by_label("Username").fill("ada")
    other.get_by_label("Password").fill(PASSWORD)
    other.get_by_role("button", name="Log in").click()
    expect(other).to_have_url(f"{demo}/courses/{COURSE}/")
    row = module_row(other, "Why we forget")
    expect(row.locator(".badge")).to_have_text("In progress")
    expect(row.locator(".fraction")).to_contain_text("2/3")


def credited_seconds(page, base: str) -> int:
    """The active time My progress shows for the first module (0 when the course is not listed)."""
    page.goto(f"{base}/my-progress/")
    row = page.locator("tr", has=page.get_by_role("link", name="Why we forget", exact=True))
    if not row.count():
        return 0
    value = row.locator("td").last.inner_text()
    match = re.fullmatch(r"(\d+) s", value.strip())
    assert match, value
    return int(match.group(1))


def test_heartbeats_credit_active_time_and_nothing_while_hidden(demo, browser_context_factory, settings):
    """With a 2-second heartbeat, five seconds of activity on a lens credit between 3 and 8 seconds;
    a hidden tab sends nothing and credits nothing."""
    settings.PROGRESS_HEARTBEAT_SECONDS = 2
    context = browser_context_factory()
    page = context.new_page()
    beats = []
    page.on("request", lambda request: beats.append(request) if "/api/progress/time" in request.url else None)
    open_module(page, demo)
    expect(page.locator("[data-activity]")).to_have_attribute("data-heartbeat-seconds", "2")
    for step in range(20):
        page.mouse.move(100 + step * 10, 200)
        page.wait_for_timeout(250)
    page.goto(f"{demo}/courses/{COURSE}/")  # pagehide flushes the rest with sendBeacon
    page.wait_for_timeout(500)
    assert len(beats) >= 2
    assert 3 <= credited_seconds(page, demo) <= 8

    hidden = context.new_page()
    hidden.add_init_script(
        """
        Object.defineProperty(document, "visibilityState", { get: () => "hidden" });
        Object.defineProperty(document, "hidden", { get: () => true });
        """
    )
    hidden_beats = []
    hidden.on("request", lambda r: hidden_beats.append(r) if "/api/progress/time" in r.url else None)
    hidden.goto(f"{demo}/courses/{COURSE}/modules/practice-that-works/")
    for step in range(20):
        hidden.mouse.move(100 + step * 10, 200)
        hidden.wait_for_timeout(250)
    hidden.close(run_before_unload=True)
    page.wait_for_timeout(500)
    assert hidden_beats == []
    page.goto(f"{demo}/my-progress/")
    hidden_row = page.locator("tr", has=page.get_by_role("link", name="Practice that works", exact=True))
    expect(hidden_row.locator("td").last).to_have_text("0 s")


def test_a_completion_while_the_server_is_down_is_not_shown_as_done(demo, browser_context_factory):
    """With the server unreachable the lens stays "Mark complete" and a message says so; the click is
    retried when the connection returns, and only then is the lens shown completed."""
    context = browser_context_factory()
    page = context.new_page()
    open_module(page, demo)

    page.route("**/complete/", lambda route: route.abort("connectionrefused"))
    page.get_by_role("button", name="Mark complete").click()
    expect(page.locator("[data-complete-status]")).to_contain_text("not marked complete")
    expect(page.get_by_role("button", name="Mark complete")).to_be_visible()
    expect(page.locator("#fraction")).to_have_text("Progress: 0/3 required lenses")
    expect(page.locator(".drawer__list .mark--done")).to_have_count(0)

    context.set_offline(True)
    page.unroute("**/complete/")
    page.wait_for_timeout(3500)  # the scheduled retry fails too while offline
    expect(page.locator("#fraction")).to_have_text("Progress: 0/3 required lenses")
    expect(page.locator("[data-complete-status]")).to_contain_text("offline")

    context.set_offline(False)  # the `online` event retries at once
    expect(page.locator("#fraction")).to_have_text("Progress: 1/3 required lenses")
    expect(page.locator(".drawer__list .mark--done")).to_have_count(1)


def test_everything_works_without_javascript(demo, browser_context_factory):
    """With JavaScript off, "Mark complete" posts and returns to the lens, "Next: <title>" leads on, and
    finishing the module shows the dialog (inline) on the page it lands on."""
    page = browser_context_factory(java_script_enabled=False).new_page()
    open_module(page, demo)
    for expected in ("1/3", "2/3"):
        page.get_by_role("button", name="Mark complete").click()
        expect(page.locator("#fraction")).to_have_text(f"Progress: {expected} required lenses")
        page.get_by_role("link", name=re.compile(r"^Next: ")).click()
    page.get_by_role("button", name="Mark complete").click()
    expect(page.get_by_role("dialog", name="Module completed")).to_be_visible()
    expect(page.locator("#complete")).to_contain_text("Completed")

    page.get_by_role("link", name="Back to course overview").click()
    expect(module_row(page, "Why we forget").locator(".badge")).to_have_text("Completed")


def sent_seconds(bodies: list[str]) -> int:
    """The seconds in heartbeat bodies: JSON from fetch, or the form that sendBeacon posts."""
    return sum(int(re.search(r'time_delta_s"?[:=]\s*(\d+)', body).group(1)) for body in bodies)


def test_idle_time_stops_counting_and_chat_activity_counts(demo, browser_context_factory, settings):
    """After the inactivity timeout nothing more is counted or sent; the `courseplatform:activity` event
    (dispatched by the chat while typing or streaming) keeps the learner active without any input."""
    settings.PROGRESS_HEARTBEAT_SECONDS = 1
    settings.PROGRESS_INACTIVITY_SECONDS = 2
    settings.PROGRESS_CHAT_INACTIVITY_SECONDS = 2
    page = browser_context_factory().new_page()
    beats = []
    page.on("request", lambda r: beats.append(r.post_data) if "/api/progress/time" in r.url else None)
    page.goto(f"{demo}/courses/{COURSE}/modules/{MODULE}/")
    page.wait_for_timeout(6000)
    idle_total = sent_seconds(beats)
    assert 1 <= idle_total <= 3
    assert credited_seconds(page, demo) <= 3

    beats.clear()
    page.goto(f"{demo}/courses/{COURSE}/modules/practice-that-works/")
    page.evaluate(
        """() => { window.__chatTimer = setInterval(() => document.querySelector('#lens-title')
               .dispatchEvent(new CustomEvent('courseplatform:activity', {bubbles: true})), 500); }"""
    )
    page.wait_for_timeout(6000)
    chat_total = sent_seconds(beats)
    assert chat_total >= 4


def test_legacy_local_storage_keys_are_removed_once(demo, browser_context_factory):
    """The old client's `module-completed-*` and `module_session_*` keys are removed, once."""
    page = browser_context_factory().new_page()
    page.goto(f"{demo}/")
    page.evaluate(
        """() => { localStorage.setItem('module-completed-intro', '1'); localStorage.setItem('module_session_3', 'x');
                   localStorage.setItem('keep-me', 'y'); }"""
    )
    page.goto(f"{demo}/courses/{COURSE}/modules/{MODULE}/")
    keys = page.evaluate("() => Object.keys(localStorage).sort()")
    assert keys == ["keep-me", "progress_migration_v2"]

    page.evaluate("() => localStorage.setItem('module-completed-later', '1')")
    page.reload()
    assert "module-completed-later" in page.evaluate("() => Object.keys(localStorage)")
