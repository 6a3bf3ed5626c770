"""A roleplay in the module viewer, in headless Chromium against the fake model: streamed, reloaded, finished.

The demo lens "Spacing your practice" holds a roleplay (content/Lenses/Spacing your practice.md).
Screenshots at 1280 and 390 px go to /work/notes/shots/rp/ (artifacts/screenshots/ when that is absent).
"""

from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from chat.tests.fake_tutor import Stream
from roleplay.models import RoleplayAttempt

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

NOTES = Path("/work/notes/shots/rp")
SHOTS = NOTES if NOTES.parent.is_dir() else Path(settings.BASE_DIR) / "artifacts" / "screenshots"
URL = "/courses/learning-that-sticks/modules/practice-that-works/lenses/7697a4db-0b44-45dc-be60-5fcb536bbe90/"
ROLEPLAY = "#roleplay-0d6f2c3e-8b1a-4c52-9e77-3f4a5b6c7d81"
PIECES = ["Fine, ", "but I ", "have ", "football ", "on ", "Tuesdays."]
VIEWPORTS = {"1280": {"width": 1280, "height": 900}, "390": {"width": 390, "height": 844}}


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, viewport in VIEWPORTS.items():
        page.set_viewport_size(viewport)
        page.locator(ROLEPLAY).scroll_into_view_if_needed()
        page.locator(ROLEPLAY).screenshot(path=SHOTS / f"roleplay-{name}-{width}.png")
    page.set_viewport_size(VIEWPORTS["1280"])


def test_a_roleplay_streams_is_kept_over_a_reload_and_finishes(demo, tutor_server, browser_context_factory):
    """The learner reads the briefing and the character's opening line, sends a line, sees the reply grow
    piece by piece, reloads and finds the conversation, then finishes it: the input goes, the transcript stays."""
    tutor_server.script.append(Stream(PIECES, delay=0.3))
    page = browser_context_factory().new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(demo + URL)
    page.wait_for_load_state("load")
    panel = page.locator(ROLEPLAY)
    expect(panel.locator(".roleplay__brief")).to_contain_text("Talk Sam into spacing")
    expect(panel.locator(".chat-msg--character").first).to_contain_text("pull an all-nighter")

    panel.locator("textarea[data-voice-input]").fill("Two weeks of short sessions beat one all-nighter.")
    panel.locator("button", has_text="Send").click()
    reply = panel.locator(".chat-msg--character").nth(1)
    expect(reply).to_contain_text("Fine, but I")  # part of the reply, before the rest arrived
    assert "Tuesdays." not in reply.inner_text()
    expect(reply).to_contain_text("football on Tuesdays.")
    expect(panel.locator("button", has_text="Finish conversation")).to_be_visible()

    page.reload()
    page.wait_for_load_state("load")
    expect(panel.locator(".chat-msg--user")).to_contain_text("Two weeks of short sessions")
    expect(panel.locator(".chat-msg--character").nth(1)).to_contain_text("football on Tuesdays.")
    shoot(page, "conversation")

    panel.locator("button", has_text="Finish conversation").click()
    expect(panel.locator("[data-roleplay-finished]")).to_be_visible()
    expect(panel.locator("textarea")).to_have_count(0)
    expect(panel.locator(".chat-msg--character").nth(1)).to_contain_text("football on Tuesdays.")
    expect(panel.locator("button", has_text="Get feedback from the tutor")).to_be_visible()
    shoot(page, "finished")
    assert RoleplayAttempt.objects.get().is_finished
    assert errors == []
