"""A learner's way through the demo course in headless Chromium: resuming, "Next", finishing the course.

Screenshots (1280 and 390 px wide) of the overview, a lens, the dialog and the completion page go to
artifacts/screenshots/ for people to look at.
"""

import re
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from content_loader.models import ContentItem, ContentType

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots"
COURSE = "learning-that-sticks"
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def shoot(page, name: str, *, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for size, viewport in VIEWPORTS.items():
        page.set_viewport_size(viewport)
        page.screenshot(path=SCREENSHOTS / f"{name}-{size}.png", full_page=full_page)
    page.set_viewport_size(VIEWPORTS["desktop"])


def test_continue_resumes_at_the_last_lens_opened(demo, browser_context_factory, settings):
    """A learner opens the second lens (a heartbeat records it) without completing it: the home card's and
    the overview's "Continue" lead back to it, not to the first lens."""
    settings.PROGRESS_HEARTBEAT_SECONDS = 1
    page = browser_context_factory().new_page()
    page.goto(f"{demo}/courses/{COURSE}/")
    page.get_by_role("link", name=re.compile(r"^Start: ")).click()
    page.wait_for_load_state("load")
    page.locator(".drawer__list a").nth(1).click()
    second = page.locator(".drawer__list a").nth(1).inner_text().split("\n")[-1].strip()
    expect(page.locator("#lens-title")).to_have_text(re.compile(re.escape(second.split("Optional")[0].strip())))
    title = page.locator("#lens-title").inner_text()
    with page.expect_request(lambda request: "/api/progress/time" in request.url, timeout=10_000):
        for step in range(12):
            page.mouse.move(100 + step * 10, 300)
            page.wait_for_timeout(200)

    page.goto(f"{demo}/")
    page.get_by_role("link", name=re.compile(r"^Continue")).first.click()
    expect(page.locator("#lens-title")).to_have_text(title)

    page.goto(f"{demo}/courses/{COURSE}/")
    page.get_by_role("link", name=re.compile(r"^Continue: ")).click()
    expect(page.locator("#lens-title")).to_have_text(title)


def complete_all_but_the_last_required_step(course, token: str):
    """Complete (in the database) every required step of the course but the last; return the last's URL."""
    from chat.models import QuestionAnswer
    from chat.questions import questions_of
    from learn.navigation import course_steps, lens_url
    from learners import Learner
    from progress.queries import course_progress
    from progress.services import complete_content

    learner = Learner(session_token=uuid.UUID(token))
    steps = [s for s in course_steps(course_progress(learner=learner, course=course)) if not s.optional and not s.hide]
    types = dict(ContentItem.objects.filter(pk__in=[s.item_id for s in steps]).values_list("pk", "content_type"))
    *before, last = steps
    for found in before:
        if types[found.item_id] == ContentType.TEST:  # a test is completed once its questions have answers
            test = ContentItem.objects.get(pk=found.item_id)
            for question in questions_of(test):
                QuestionAnswer.objects.create(
                    session_token=learner.session_token,
                    content_id=test.pk,
                    content_type=ContentType.TEST,
                    question_key=question["key"],
                    question_text=question.get("content_text", ""),
                    text="An answer.",
                )
        complete_content(
            learner=learner,
            content_id=found.item_id,
            content_type=types[found.item_id],
            module_slug=found.summary.module.slug,
        )
    assert types[last.item_id] == ContentType.LENS
    return lens_url(course.slug, last.summary.module.slug, last.item_id)


def test_mark_complete_focuses_next_and_the_last_lens_offers_the_completion_page(demo, browser_context_factory):
    """ "Mark complete" leaves the learner on the lens with "Next: <title>" focused; the course's last
    required lens opens "Course completed", whose link leads to a printable completion page."""
    context = browser_context_factory()
    page = context.new_page()
    page.goto(f"{demo}/courses/{COURSE}/")
    shoot(page, "journey-overview-start")
    page.get_by_role("link", name=re.compile(r"^Start: ")).click()
    page.wait_for_load_state("load")
    title = page.locator("#lens-title").inner_text()
    page.get_by_role("button", name="Mark complete").click()
    expect(page.locator("#complete")).to_contain_text("Completed")
    expect(page.locator("#lens-title")).to_have_text(title)  # no jump
    expect(page.get_by_role("link", name=re.compile(r"^Next: "))).to_be_focused()
    shoot(page, "journey-lens-next", full_page=False)

    course = ContentItem.objects.get(slug=COURSE, content_type=ContentType.COURSE)
    token = next(cookie["value"] for cookie in context.cookies() if cookie["name"] == "learner_token")
    page.goto(demo + complete_all_but_the_last_required_step(course, token))
    page.wait_for_load_state("load")
    page.get_by_role("button", name="Mark complete").click()

    dialog = page.get_by_role("dialog", name="Course completed")
    expect(dialog).to_be_visible()
    page.wait_for_function("document.querySelector('dialog').matches(':modal')", timeout=5000)
    shoot(page, "journey-course-dialog", full_page=False)
    dialog.get_by_role("link", name="See your completion page").click()
    expect(page.get_by_role("heading", name="Course completed")).to_be_visible()
    expect(page.locator(".completion-record")).to_contain_text("Learning That Sticks")
    expect(page.locator(".completion-record")).to_contain_text("Total active time")
    shoot(page, "journey-completion")
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.get_by_role("button", name="Print this page")).to_be_hidden()
    page.emulate_media(media="screen")

    page.goto(f"{demo}/courses/{COURSE}/")
    expect(page.locator(".course-banner")).to_contain_text("Course completed")
    shoot(page, "journey-overview-done")
    page.goto(f"{demo}/")
    expect(page.locator(".card").filter(has_text="Learning That Sticks")).to_contain_text("Completed")
