"""In a real browser: a learner chats with the tutor and watches the reply stream in.

Runs headless Debian Chromium against the live test server and the fake tutor server. Screenshots go
to artifacts/screenshots/ for people to look at.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from chat.models import ChatMessage
from chat.tests.factories import UserFactory, chat_lens_body
from chat.tests.fake_tutor import Stream
from content_loader.tests.factories import LensFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots"
PIECES = ["Corrigibility ", "means ", "accepting ", "correction ", "from ", "people."]

# Counts the activity events the chat dispatches (the activity tracker listens for the same event).
COUNT_ACTIVITY = """
window.activityEvents = 0;
document.addEventListener("courseplatform:activity", () => { window.activityEvents += 1; });
"""


@pytest.fixture
def chat_page(live_server, tutor_server):
    """A logged-in learner's session cookie and the URL of a lens page with a chat."""
    lens = LensFactory(title="Corrigibility", body=chat_lens_body())
    client = Client()
    client.force_login(UserFactory())
    cookie = {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value}
    return live_server.url + reverse("chat:lens", kwargs={"lens_id": lens.pk}), cookie


def test_the_reply_streams_in_pieces_and_the_conversation_survives_a_reload(chat_page, tutor_server, chat_browser):
    """The learner sends a message, sees the reply grow piece by piece, then sees it all again after a reload."""
    url, cookie = chat_page
    tutor_server.script.append(Stream(PIECES, delay=0.35))
    context = chat_browser.new_context(viewport={"width": 1000, "height": 900})
    context.set_default_timeout(15_000)
    context.add_cookies([{**cookie, "url": url}])
    context.add_init_script(COUNT_ACTIVITY)
    page = context.new_page()
    page.goto(url)

    box = page.get_by_label("Your message")
    box.fill("What does corrigibility mean?")
    box.press("Enter")

    learner_message = page.locator(".chat-msg--user")
    learner_message.wait_for()
    assert learner_message.inner_text().endswith("What does corrigibility mean?")
    assert box.input_value() == ""  # cleared once sent

    # Intermediate states: part of the reply is on the page while the rest is still being generated.
    streaming = page.locator(".chat-msg--streaming [data-chat-reply-text]")
    page.wait_for_function(
        """() => {
            const el = document.querySelector(".chat-msg--streaming [data-chat-reply-text]");
            return el && el.textContent.includes("means") && !el.textContent.includes("people");
        }"""
    )
    partial = streaming.inner_text()
    assert partial.startswith("Corrigibility means") and "people." not in partial
    assert page.locator(".chat__send").is_disabled()  # no second message while the reply streams
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "chat-streaming.png", full_page=True)

    final = page.locator(".chat-msg--assistant .chat-msg__text--rich")
    final.wait_for()
    assert final.inner_text().strip() == "Corrigibility means accepting correction from people."
    assert page.locator(".chat-msg--streaming").count() == 0
    assert page.locator(".chat__send").is_enabled()
    assert page.evaluate("window.activityEvents") >= 3  # typing, sending, and while streaming (at most 1/s)
    page.screenshot(path=SCREENSHOTS / "chat-replied.png", full_page=True)

    assert list(ChatMessage.objects.values_list("role", flat=True)) == ["user", "assistant"]

    page.reload()
    messages = page.locator(".chat__messages .chat-msg")
    assert messages.count() == 2
    assert "What does corrigibility mean?" in messages.nth(0).inner_text()
    assert "accepting correction from people." in messages.nth(1).inner_text()
    assert re.search(r"Start a new conversation", page.content())
    context.close()
