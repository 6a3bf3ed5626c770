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
from chat.tests.fake_tutor import Fail, Stream
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
    cookie = {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": live_server.url,  # the whole site, not only the lens page's path
    }
    return live_server.url + reverse("chat:lens", kwargs={"lens_id": lens.pk}), cookie


def test_the_reply_streams_in_pieces_and_the_conversation_survives_a_reload(chat_page, tutor_server, chat_browser):
    """The learner sends a message, sees the reply grow piece by piece, then sees it all again after a reload."""
    url, cookie = chat_page
    tutor_server.script.append(Stream(PIECES, delay=0.35))
    context = chat_browser.new_context(viewport={"width": 1000, "height": 900})
    context.set_default_timeout(15_000)
    context.add_cookies([cookie])
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


def test_try_again_new_conversation_past_conversations_feedback_and_rate_limit(
    chat_page, tutor_server, settings, chat_browser
):
    """A failed reply offers "Try again", which streams the reply; a new conversation keeps the old one
    readable under "Past conversations"; "Get feedback" streams the tutor's feedback on an answer; past
    the rate limit the learner is told to wait and keeps what they typed."""
    settings.CHAT_RATE_LIMIT_MESSAGES = 2  # the message and the feedback below use it up
    url, cookie = chat_page
    tutor_server.script.extend([Fail(500), Stream(["Second ", "time."], delay=0.2), Stream(["Well ", "argued."])])
    context = chat_browser.new_context(viewport={"width": 1000, "height": 1200})
    context.set_default_timeout(15_000)
    context.add_cookies([cookie])
    page = context.new_page()
    page.goto(url)

    page.get_by_label("Your message").fill("Hello tutor")
    page.get_by_role("button", name="Send").click()
    page.get_by_text("The tutor server had a problem (HTTP 500). Try again.").wait_for()
    assert page.locator(".chat-msg--streaming").count() == 0
    page.get_by_role("button", name="Try again").click()
    page.locator(".chat-msg--assistant .chat-msg__text--rich").get_by_text("Second time.").wait_for()
    assert page.get_by_role("button", name="Try again").count() == 0
    assert list(ChatMessage.objects.values_list("role", "text")) == [
        ("user", "Hello tutor"),
        ("assistant", "Second time."),
    ]

    page.get_by_role("button", name="Start a new conversation").click()
    page.get_by_text("Past conversations (1)").click()
    assert page.locator(".chat__messages > .chat-msg").count() == 0
    page.locator(".chat__past-list a").click()
    page.locator(".chat__past-view").get_by_text("Second time.").wait_for()

    page.get_by_label("Your answer").fill("It cannot reach its goal when switched off.")
    page.get_by_role("button", name="Get feedback").click()
    page.locator(".question-feedback").get_by_text("Well argued.").wait_for()
    page.screenshot(path=SCREENSHOTS / "chat-feedback.png", full_page=True)
    page.reload()
    assert page.get_by_label("Your answer").input_value() == "It cannot reach its goal when switched off."
    assert "Well argued." in page.locator(".question-feedback").inner_text()

    page.get_by_label("Your message").fill("One more question")
    page.get_by_role("button", name="Send").click()
    page.locator(".chat__status").get_by_text("Please wait").wait_for()
    assert page.get_by_label("Your message").input_value() == "One more question"
    assert page.locator(".chat__send").is_enabled()
    context.close()
