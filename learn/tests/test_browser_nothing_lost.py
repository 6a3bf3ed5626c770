"""Nothing lost on any path a learner takes, in headless Chromium against a live server on PostgreSQL.

The fake tutor (chat/tests/fake_tutor.py, a real HTTP server on 127.0.0.1) answers slowly or breaks off;
the learner leaves mid-reply, presses Back, reloads, types an answer and goes on without saving it.
Screenshots of a reply still being generated and of a reply cut off, at 1280 and 390 px wide, go to
artifacts/screenshots/.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from chat import replies
from chat.models import AnswerDraft, ChatMessage, QuestionAnswer
from chat.tests.fake_tutor import Stream

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots"
COURSE = "learning-that-sticks"
WELCOME = "aeff022c-66c6-45a5-bcb2-b6ae954b8bba"  # why-we-forget: Text, Chat
TESTING_YOURSELF = "c5348e09-7910-4fe7-96d4-c6a0eda80a00"  # practice-that-works: Text, Question, Chat
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
SLOW = ["The reply ", "keeps ", "coming ", "while ", "you are ", "away, ", "and it ", "is kept."]


def lens_url(base: str, module: str, lens_id: str) -> str:
    return f"{base}/courses/{COURSE}/modules/{module}/lenses/{lens_id}/"


def open_page(page, url: str) -> None:
    page.goto(url)
    expect(page.locator("#lens-title")).to_be_visible()
    page.wait_for_load_state("load")  # htmx and chat.js enhance the page at DOMContentLoaded


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for size, viewport in VIEWPORTS.items():
        page.set_viewport_size(viewport)
        page.screenshot(path=SCREENSHOTS / f"{name}-{size}.png", full_page=True)
    page.set_viewport_size(VIEWPORTS["desktop"])


def send(page, text: str) -> None:
    box = page.get_by_label("Your message")
    box.fill(text)
    box.press("Enter")
    expect(page.locator(".chat-msg--user").last).to_contain_text(text)


def test_leaving_mid_reply_and_pressing_back_shows_the_message_and_then_the_reply(
    demo, tutor_server, browser_context_factory
):
    """Send, leave while the reply streams, press Back: the message is there, "The tutor is still
    replying…" while it is generated, and the whole reply appears in place without a reload."""
    tutor_server.script.append(Stream(SLOW, delay=0.5))
    page = browser_context_factory().new_page()
    open_page(page, lens_url(demo, "why-we-forget", WELCOME))  # a returning learner: every cookie is set
    page.goto(f"{demo}/courses/{COURSE}/")
    open_page(page, lens_url(demo, "why-we-forget", WELCOME))
    send(page, "What happens if I leave?")
    page.wait_for_function(
        """() => (document.querySelector(".chat-msg--streaming [data-chat-reply-text]") || {}).textContent"""
    )

    page.goto(f"{demo}/courses/{COURSE}/")  # a link elsewhere, mid-reply
    page.go_back()

    expect(page.locator(".chat-msg--user")).to_contain_text("What happens if I leave?")
    expect(page.get_by_text("The tutor is still replying…")).to_be_visible()
    shoot(page, "reply-still-generating")
    reply = page.locator(".chat-msg--assistant .chat-msg__text--rich").last
    expect(reply).to_have_text("".join(SLOW).strip(), timeout=15_000)
    expect(page.get_by_text("The tutor is still replying…")).to_have_count(0)
    assert replies.wait_for_all(timeout=10)
    assert list(ChatMessage.objects.values_list("role", "state")) == [("user", "complete"), ("assistant", "complete")]


def test_closing_the_tab_mid_reply_keeps_the_reply_for_the_next_visit(demo, tutor_server, browser_context_factory):
    """The tab is closed after the first piece; the reply is generated to the end and shown next time."""
    tutor_server.script.append(Stream(SLOW, delay=0.2))
    context = browser_context_factory()
    page = context.new_page()
    open_page(page, lens_url(demo, "why-we-forget", WELCOME))
    send(page, "Closing now")
    page.wait_for_function(
        """() => (document.querySelector(".chat-msg--streaming [data-chat-reply-text]") || {}).textContent"""
    )
    page.close()

    assert replies.wait_for_all(timeout=15)
    page = context.new_page()
    open_page(page, lens_url(demo, "why-we-forget", WELCOME))
    expect(page.locator(".chat-msg--assistant")).to_contain_text("is kept.")


def test_a_reply_that_breaks_off_keeps_what_arrived_and_try_again_answers(demo, tutor_server, browser_context_factory):
    """The tutor breaks off after three pieces: they stay on the page, marked cut off, with "Try again";
    trying again streams a whole reply below it."""
    tutor_server.script.extend([Stream(SLOW, delay=0.1, fail_after=3), Stream(["A whole ", "second reply."])])
    page = browser_context_factory().new_page()
    open_page(page, lens_url(demo, "why-we-forget", WELCOME))
    send(page, "Will you finish?")

    expect(page.locator(".chat-msg--interrupted")).to_contain_text("The reply keeps coming")
    expect(page.get_by_text("broke off before the end")).to_be_visible()
    shoot(page, "reply-cut-off")
    page.get_by_role("button", name="Try again").click()

    expect(page.locator(".chat-msg--assistant").last).to_contain_text("A whole second reply.")
    page.reload()
    expect(page.locator(".chat-msg--interrupted")).to_contain_text("The reply keeps coming")
    expect(page.locator(".chat-msg--assistant").last).to_contain_text("A whole second reply.")
    expect(page.get_by_role("button", name="Try again")).to_have_count(0)


def test_completing_a_lens_going_on_and_pressing_back_shows_completed(demo, browser_context_factory):
    """Mark complete, then "Next:" to the next lens; Back shows the first lens as "Completed", never the
    stale "Mark complete" page the browser saw before."""
    page = browser_context_factory().new_page()
    open_page(page, lens_url(demo, "why-we-forget", WELCOME))  # a returning learner: every cookie is set
    page.goto(f"{demo}/courses/{COURSE}/")
    open_page(page, lens_url(demo, "why-we-forget", WELCOME))
    expect(page.get_by_role("button", name="Mark complete")).to_be_visible()
    page.get_by_role("button", name="Mark complete").click()
    page.get_by_role("link", name=re.compile(r"^Next: ")).click()
    expect(page).not_to_have_url(lens_url(demo, "why-we-forget", WELCOME))
    page.wait_for_load_state("load")

    page.go_back()

    expect(page).to_have_url(lens_url(demo, "why-we-forget", WELCOME))
    expect(page.locator("#complete")).to_contain_text("Completed")
    expect(page.get_by_role("button", name="Mark complete")).to_have_count(0)


def test_a_page_restored_from_the_back_forward_cache_refreshes(demo, browser_context_factory):
    """A page shown again from the back-forward cache (`pageshow` with `persisted`) reloads itself, so it
    shows what changed meanwhile (here a completion made in another tab)."""
    context = browser_context_factory()
    page = context.new_page()
    open_page(page, lens_url(demo, "why-we-forget", WELCOME))
    page.evaluate("window.staleMarker = true")
    other = context.new_page()
    open_page(other, lens_url(demo, "why-we-forget", WELCOME))
    other.get_by_role("button", name="Mark complete").click()
    expect(other.locator("#complete")).to_contain_text("Completed")

    with page.expect_navigation():
        page.evaluate(
            "window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))"
        )  # what a restore from the back-forward cache fires

    expect(page.locator("#complete")).to_contain_text("Completed")
    assert page.evaluate("window.staleMarker === undefined")


def test_an_answer_typed_and_not_saved_is_there_on_return(demo, browser_context_factory):
    """Typing saves a draft ("Draft saved"); going on to another page without "Save answer" and coming
    back restores the text. It is a draft, not the answer."""
    page = browser_context_factory().new_page()
    url = lens_url(demo, "practice-that-works", TESTING_YOURSELF)
    open_page(page, url)
    box = page.get_by_label("Your answer")
    box.fill("Retrieval is what makes it stick")
    expect(page.get_by_text("Draft saved.")).to_be_visible()

    page.goto(f"{demo}/courses/{COURSE}/")
    open_page(page, url)

    expect(page.get_by_label("Your answer")).to_have_value("Retrieval is what makes it stick")
    expect(page.get_by_text("not your answer yet")).to_be_visible()
    page.get_by_label("Your answer").scroll_into_view_if_needed()
    shoot(page, "answer-draft-restored")
    assert not QuestionAnswer.objects.exists()


def test_leaving_right_after_typing_sends_the_draft_by_beacon(demo, browser_context_factory):
    """Text typed a moment before following a link (before the typing pause) is sent on pagehide."""
    page = browser_context_factory().new_page()
    url = lens_url(demo, "practice-that-works", TESTING_YOURSELF)
    open_page(page, url)
    page.get_by_label("Your answer").fill("Typed and gone at once")

    page.goto(f"{demo}/courses/{COURSE}/")  # at once: the 800 ms pause never ends on the lens page

    expect(page.locator("body")).to_be_visible()
    for _attempt in range(50):
        if AnswerDraft.objects.filter(text="Typed and gone at once").exists():
            break
        page.wait_for_timeout(100)
    assert AnswerDraft.objects.get().text == "Typed and gone at once"
    open_page(page, url)
    expect(page.get_by_label("Your answer")).to_have_value("Typed and gone at once")
