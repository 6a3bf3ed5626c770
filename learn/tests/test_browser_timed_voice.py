"""Timed and spoken answers in headless Chromium: a `max-time:: 0:03` question locks at zero with what was
typed saved, and a spoken answer (Chromium's fake microphone) is transcribed by the fake model server into
the box. Screenshots at 1280 and 390 px go to /work/notes/shots/vo/ (or artifacts/screenshots/)."""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from playwright.sync_api import expect

from chat.models import AnswerStart, QuestionAnswer
from chat.tests.factories import shared_question
from chat.tests.fake_tutor import Transcript
from conftest import CHROMIUM_ARGS
from content_loader.tests.factories import LensFactory
from learn.links import standalone_lens_url

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("SHOTS_DIR", Path(settings.BASE_DIR) / "artifacts" / "screenshots"))
FAKE_MICROPHONE = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture
def microphone_chromium(monkeypatch):
    """Chromium with a fake microphone (a beeping tone) that is allowed without asking."""
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), args=CHROMIUM_ARGS + FAKE_MICROPHONE
        )
        try:
            yield browser
        finally:
            browser.close()
            connections.close_all()


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_timed_question_locks_at_zero_with_what_was_typed_saved(live_server, browser_context_factory):
    lens = LensFactory(title="Quick recall", body={"segments": [shared_question(index=0, max_time_seconds=3)]})
    page = browser_context_factory().new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server.url + standalone_lens_url(lens.pk, lens.title))
    page.wait_for_load_state("load")
    expect(page.get_by_text("you have 3 seconds to answer")).to_be_visible()
    expect(page.locator("textarea")).to_have_count(0)
    shoot(page, "timed-before-start")

    page.get_by_role("button", name="Start").click()
    box = page.locator("textarea.question-box__input")
    expect(box).to_be_editable()
    assert AnswerStart.objects.count() == 1
    box.fill("It drops fast, then levels off")
    shoot(page, "timed-counting")

    expect(page.get_by_text("Time is up")).to_be_visible(timeout=8_000)
    expect(page.locator("textarea.question-box__input")).not_to_be_editable()
    expect(page.get_by_role("button", name="Save answer")).to_have_count(0)
    expect(page.locator(".question-box__status")).to_contain_text("Saved")
    assert QuestionAnswer.objects.get().text == "It drops fast, then levels off"
    shoot(page, "timed-time-up")

    page.reload()  # the server shows the same locked box
    expect(page.get_by_text("Time is up")).to_be_visible()
    expect(page.locator("textarea.question-box__input")).not_to_be_editable()
    assert errors == []


def test_a_spoken_answer_fills_the_box_from_the_fake_microphone(live_server, tutor_server, microphone_chromium):
    tutor_server.transcripts.append(Transcript("I will test myself before rereading."))
    lens = LensFactory(title="Say it", body={"segments": [shared_question(index=0, enforce_voice=True)]})
    context = microphone_chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server.url + standalone_lens_url(lens.pk, lens.title))
    page.wait_for_load_state("load")
    box = page.locator("textarea.question-box__input")
    expect(box).not_to_be_editable()  # enforced: not for typing until a transcript fills it
    expect(page.get_by_text("Answer this question by speaking")).to_be_visible()
    shoot(page, "voice-before")

    page.get_by_role("button", name="Record answer").click()
    expect(page.get_by_role("button", name="Stop recording")).to_be_visible()
    page.wait_for_timeout(1500)
    page.get_by_role("button", name="Stop recording").click()

    expect(box).to_have_value("I will test myself before rereading.")
    expect(box).to_be_editable()  # the transcript can be corrected before saving
    (sent,) = tutor_server.transcription_requests
    assert len(sent["file"]["data"]) > 100 and sent["file"]["content_type"].startswith("audio/")
    shoot(page, "voice-transcribed")
    page.get_by_role("button", name="Save answer").click()
    expect(page.locator(".question-box__status")).to_contain_text("Saved")
    assert QuestionAnswer.objects.get().text == "I will test myself before rereading."
    context.close()
    assert errors == []
