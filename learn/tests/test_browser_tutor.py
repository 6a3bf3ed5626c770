"""The tutor chat, questions and tests in the module viewer, in headless Chromium.

A live server on PostgreSQL serves the demo content (`demo`), and the fake tutor (chat/tests/fake_tutor.py,
a real HTTP server on 127.0.0.1 speaking the OpenAI streaming protocol) answers. Screenshots of a lens
with a chat and of a submitted test with feedback (desktop and phone width) go to artifacts/screenshots/.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from chat.models import ChatMessage, QuestionAnswer
from chat.tests.fake_tutor import Stream
from content_loader.models import ModuleEntry
from content_loader.tests.factories import LensFactory
from learn.tests.factories import body_of, chat_segment, text_segment
from progress.models import UserContentProgress

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots"
COURSE = "learning-that-sticks"
WELCOME = "aeff022c-66c6-45a5-bcb2-b6ae954b8bba"  # why-we-forget: Text, Chat
TESTING_YOURSELF = "c5348e09-7910-4fe7-96d4-c6a0eda80a00"  # practice-that-works: Text, Question, Chat
TEST = "781bbcde-a1ac-4d16-bb69-d93535c18d50"  # two questions with feedback:: true
MIXING = "f7bacfce-85d1-450f-8102-a0cff91cd2c5"
PIECES = ["Think of ", "a word ", "you know ", "but can't ", "say: that ", "is recognition."]
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}

# Counts the activity events the chat dispatches (static/js/activity.js listens for the same event).
COUNT_ACTIVITY = """
window.activityEvents = 0;
document.addEventListener("courseplatform:activity", () => { window.activityEvents += 1; });
"""


def lens_url(base: str, module: str, lens_id: str) -> str:
    return f"{base}/courses/{COURSE}/modules/{module}/lenses/{lens_id}/"


def open_page(page, url: str) -> None:
    page.goto(url)
    expect(page.locator("#lens-title")).to_be_visible()
    page.wait_for_load_state("load")  # htmx and chat.js enhance the page at DOMContentLoaded


def watch_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def screenshots(page, name: str) -> None:
    """Full-page screenshots of the current page at desktop and phone width, the page reloaded for each."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for size, viewport in VIEWPORTS.items():
        page.set_viewport_size(viewport)
        page.reload()
        page.wait_for_load_state("load")
        page.screenshot(path=SCREENSHOTS / f"{name}-{size}.png", full_page=True)
    page.set_viewport_size(VIEWPORTS["desktop"])


def test_a_lens_chat_streams_the_reply_in_pieces_and_keeps_the_conversation(
    demo, tutor_server, browser_context_factory
):
    """On the module viewer, a learner sends a message in the lens's chat, sees the reply grow piece by
    piece, and after a reload still sees the conversation; the chat dispatches activity events."""
    tutor_server.script.append(Stream(PIECES, delay=0.35))
    context = browser_context_factory()
    context.add_init_script(COUNT_ACTIVITY)
    page = context.new_page()
    errors = watch_errors(page)
    open_page(page, lens_url(demo, "why-we-forget", WELCOME))

    box = page.get_by_label("Your message")
    box.fill("Names of people I just met.")
    box.press("Enter")

    expect(page.locator(".chat-msg--user")).to_contain_text("Names of people I just met.")
    expect(box).to_have_value("")
    # Part of the reply is on the page while the rest is still being generated.
    page.wait_for_function(
        """() => {
            const el = document.querySelector(".chat-msg--streaming [data-chat-reply-text]");
            return el && el.textContent.includes("a word") && !el.textContent.includes("recognition");
        }"""
    )
    expect(page.locator(".chat__send")).to_be_disabled()  # no second message while the reply streams
    final = page.locator(".chat-msg--assistant .chat-msg__text--rich")
    expect(final).to_have_text("".join(PIECES).strip())
    expect(page.locator(".chat-msg--streaming")).to_have_count(0)
    expect(page.locator(".chat__send")).to_be_enabled()
    assert page.evaluate("window.activityEvents") >= 3  # typing, sending, and while streaming
    assert list(ChatMessage.objects.values_list("role", flat=True)) == ["user", "assistant"]
    assert ChatMessage.objects.filter(lens_id=WELCOME).count() == 2

    page.reload()
    messages = page.locator(".chat__messages .chat-msg")
    expect(messages).to_have_count(2)
    expect(messages.nth(0)).to_contain_text("Names of people I just met.")
    expect(messages.nth(1)).to_contain_text("is recognition.")
    expect(page.get_by_role("button", name="Start a new conversation")).to_be_visible()
    expect(page).to_have_url(lens_url(demo, "why-we-forget", WELCOME))
    assert [error for error in errors if "youtube" not in error.lower()] == []
    screenshots(page, "lens-chat")


def test_chatting_counts_as_activity_for_time_tracking(demo, tutor_server, browser_context_factory, settings):
    """With a 1-second heartbeat and a 2-second inactivity timeout, typing in the chat and then only
    watching the reply stream (no mouse, no keys) keeps the time counting; it stops when the chat is idle."""
    settings.PROGRESS_HEARTBEAT_SECONDS = 1
    settings.PROGRESS_CHAT_INACTIVITY_SECONDS = 2
    tutor_server.script.append(Stream(["One. "] * 6, delay=1.0))  # about 6 seconds of streaming
    page = browser_context_factory().new_page()
    beats: list[str] = []
    page.on("request", lambda r: beats.append(r.post_data) if "/api/progress/time" in r.url else None)
    open_page(page, lens_url(demo, "why-we-forget", WELCOME))

    page.get_by_label("Your message").press_sequentially("What should I remember?", delay=120)  # about 3 s
    page.keyboard.press("Enter")
    expect(page.locator(".chat-msg--assistant .chat-msg__text--rich")).to_be_visible(timeout=15_000)
    page.wait_for_timeout(4000)  # idle: at most the 2-second timeout more is counted
    page.goto(f"{demo}/my-progress/")  # pagehide flushes the rest with sendBeacon
    row = page.locator("tr", has=page.get_by_role("link", name="Why we forget", exact=True))
    credited = int(re.fullmatch(r"(\d+) s", row.locator("td").last.inner_text().strip()).group(1))
    # Typing alone (3 s) plus the timeout would be about 5 s; the streamed reply's 6 s count as well.
    assert 8 <= credited <= 15, credited


def test_a_question_answer_survives_a_reload_and_is_read_only_after_mark_complete(
    demo, tutor_server, browser_context_factory
):
    """A learner saves an answer to a lens's question, reloads and finds it; after "Mark complete" the
    answer box is read-only."""
    page = browser_context_factory().new_page()
    url = lens_url(demo, "practice-that-works", TESTING_YOURSELF)
    open_page(page, url)

    answer = page.get_by_label("Your answer")
    answer.fill("Steep at first, then flatter; recalling resets it higher.")
    page.get_by_role("button", name="Save answer").click()
    expect(page.locator(".question-box__status")).to_contain_text("Saved.")
    page.reload()
    expect(page.get_by_label("Your answer")).to_have_value("Steep at first, then flatter; recalling resets it higher.")

    page.get_by_role("button", name="Mark complete").click()
    expect(page.locator("#complete")).to_contain_text("Completed")  # the page stays on the lens
    open_page(page, url)
    expect(page.get_by_label("Your answer")).to_have_attribute("readonly", "")
    expect(page.get_by_role("button", name="Save answer")).to_have_count(0)
    expect(page.locator(".question-box")).to_contain_text("this answer can no longer be changed")
    assert list(QuestionAnswer.objects.values_list("text", flat=True)) == [
        "Steep at first, then flatter; recalling resets it higher."
    ]


def test_a_test_is_submitted_with_feedback_shown_then_continues(demo, tutor_server, browser_context_factory):
    """Submitting with a question unanswered is refused, naming it; with both answered (the second typed
    but not saved) the test is submitted, each answer's feedback streams in, the step is completed and
    "Continue" goes on to the next lens."""
    tutor_server.script.extend(
        [Stream(["Spacing ", "makes recall ", "effortful."], delay=0.3), Stream(["A good ", "plan."])]
    )
    page = browser_context_factory().new_page()
    errors = watch_errors(page)
    open_page(page, lens_url(demo, "practice-that-works", TEST))
    expect(page.get_by_role("button", name="Mark complete")).to_have_count(0)
    expect(page.get_by_role("button", name="Get feedback")).to_have_count(0)

    answers = page.get_by_label("Your answer")
    answers.nth(0).fill("A little forgetting makes each recall effortful, which strengthens memory.")
    page.get_by_role("button", name="Save answer").first.click()
    expect(page.locator(".question-box__status").first).to_contain_text("Saved.")
    page.get_by_role("button", name="Submit test").click()
    expect(page.locator("[data-complete-status]")).to_contain_text("Not answered yet: question 2 (“You have a test")

    answers.nth(1).fill("Four one-hour sessions on days 1, 3, 6 and 9, each starting with recall.")
    page.get_by_role("button", name="Submit test").click()

    expect(page.locator("#complete")).to_contain_text("Test submitted")
    feedback = page.locator(".question-feedback")
    expect(feedback.nth(0)).to_contain_text("Spacing makes recall effortful.")
    expect(feedback.nth(1)).to_contain_text("A good plan.")
    expect(page.get_by_role("button", name="Get feedback")).to_have_count(0)  # final answers, feedback given
    for box in page.get_by_label("Your answer").all():
        expect(box).to_have_attribute("readonly", "")
    expect(page.locator(".drawer__item--current .mark--done")).to_have_count(1)
    assert list(UserContentProgress.objects.filter(content_id=TEST).values_list("content_type", flat=True)) == ["test"]
    assert sorted(QuestionAnswer.objects.values_list("feedback", flat=True)) == [
        "A good plan.",
        "Spacing makes recall effortful.",
    ]
    # The feedback was asked for one question after the other.
    assert [len(request["messages"]) for request in tutor_server.requests] == [2, 2]
    assert [error for error in errors if "youtube" not in error.lower()] == []
    assert page.evaluate("window.scrollY") == 0  # the learner reads the feedback from the first question
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "test-submitted-desktop.png", full_page=True)

    page.get_by_role("link", name="Continue").click()
    expect(page).to_have_url(lens_url(demo, "practice-that-works", MIXING))
    open_page(page, lens_url(demo, "practice-that-works", TEST))
    screenshots(page, "test-feedback")


def test_a_chat_that_hides_what_came_before_folds_it_when_the_discussion_starts(
    demo, tutor_server, browser_context_factory
):
    """Text above a chat marked hidePreviousContentFromUser is readable until the first message, then
    folded away (and can be opened again); a reload keeps it folded."""
    lens = LensFactory(
        title="From memory",
        body=body_of(
            text_segment(0, "Ebbinghaus measured his own forgetting."),
            chat_segment(1, hide_from_user=True, instructions="Ask what they remember."),
        ),
    )
    module = ModuleEntry.objects.filter(module__slug="why-we-forget").first().module
    ModuleEntry.objects.create(module=module, position=99, item=lens, optional=True)
    page = browser_context_factory().new_page()
    open_page(page, lens_url(demo, "why-we-forget", str(lens.pk)))
    reading = page.get_by_text("Ebbinghaus measured his own forgetting.")
    expect(reading).to_be_visible()
    expect(page.locator(".chat-fold-note")).to_be_visible()

    page.get_by_label("Your message").fill("He forgot quickly at first.")
    page.get_by_role("button", name="Send").click()
    expect(reading).to_be_hidden()
    expect(page.locator(".chat-fold-note")).to_have_count(0)
    page.get_by_text("Show the part of the lens before the discussion").click()
    expect(reading).to_be_visible()
    expect(page.locator(".chat-msg--assistant .chat-msg__text--rich")).to_be_visible()

    page.reload()
    expect(page.get_by_text("Ebbinghaus measured his own forgetting.")).to_be_hidden()
