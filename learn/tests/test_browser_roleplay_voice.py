"""A spoken roleplay in headless Chromium against the fake model server: the learner records a line with
Chromium's fake microphone, the transcript fills the box, the character replies, and "Play" reads the reply
aloud through audio/speech into an <audio> element that plays (from a Blob URL, allowed by the CSP).

Screenshots at 1280 and 390 px go to /work/notes/shots/rpv/ (artifacts/screenshots/ when that is absent).
"""

import io
import math
import struct
import wave
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from chat.tests.fake_tutor import Stream, Transcript
from learn.tests.test_browser_roleplay import ROLEPLAY, URL, VIEWPORTS
from learn.tests.test_browser_timed_voice import microphone_chromium  # noqa: F401
from roleplay.models import RoleplayMessage

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

NOTES = Path("/work/notes/shots/rpv")
SHOTS = NOTES if NOTES.parent.is_dir() else Path(settings.BASE_DIR) / "artifacts" / "screenshots"


def tone(seconds: float = 1.5, rate: int = 8000) -> bytes:
    """A real, playable sound (a 440 Hz WAV: the machine has no MP3 encoder; Chromium sniffs the format)."""
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate))) for i in range(int(seconds * rate))
    )
    out = io.BytesIO()
    with wave.open(out, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(rate)
        file.writeframes(frames)
    return out.getvalue()


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, viewport in VIEWPORTS.items():
        page.set_viewport_size(viewport)
        page.locator(ROLEPLAY).scroll_into_view_if_needed()
        page.locator(ROLEPLAY).screenshot(path=SHOTS / f"roleplay-voice-{name}-{width}.png")
    page.set_viewport_size(VIEWPORTS["1280"])


def test_a_roleplay_line_is_spoken_and_the_reply_played(demo, tutor_server, microphone_chromium, settings):  # noqa: F811
    settings.SPEECH_VOICE = "alloy"
    tutor_server.transcripts.append(Transcript("Two weeks of short sessions beat one all-nighter."))
    tutor_server.script.append(Stream(["Fine, ", "show me ", "the plan."]))
    tutor_server.speeches.append(tone())
    context = microphone_chromium.new_context(viewport=VIEWPORTS["1280"])
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(  # a CSP refusal of the Blob URL would show here (the live server has no favicon.ico: not an error)
        "console",
        lambda message: (
            message.type == "error"
            and not message.location.get("url", "").endswith("/favicon.ico")
            and errors.append(message.text)
        ),
    )
    page.goto(demo + URL)
    page.wait_for_load_state("load")
    panel = page.locator(ROLEPLAY)
    box = panel.locator("textarea[name=text]")

    panel.get_by_role("button", name="Record answer").click()
    expect(panel.get_by_role("button", name="Stop recording")).to_be_visible()
    page.wait_for_timeout(1500)
    panel.get_by_role("button", name="Stop recording").click()
    expect(box).to_have_value("Two weeks of short sessions beat one all-nighter.")
    expect(panel.locator(".voice__status")).to_contain_text("then send it")
    assert len(tutor_server.transcription_requests) == 1
    shoot(page, "transcribed")

    panel.locator("button", has_text="Send").click()
    reply = panel.locator(".chat-msg--character").nth(1)
    expect(reply).to_contain_text("Fine, show me the plan.")
    play = reply.get_by_role("button", name="Play")
    expect(play).to_be_visible()
    play.click()
    audio = reply.locator("audio")
    expect(audio).to_have_count(1)
    page.wait_for_function(
        "a => a.currentTime > 0 && a.src.startsWith('blob:')", arg=audio.element_handle(), timeout=10_000
    )
    expect(reply.get_by_role("button", name="Stop")).to_be_visible()
    assert tutor_server.speech_requests[-1]["input"] == "Fine, show me the plan."
    assert RoleplayMessage.objects.filter(role="user", text__startswith="Two weeks").exists()
    shoot(page, "playing")
    context.close()
    assert errors == []
