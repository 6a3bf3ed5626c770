"""The staff course dashboard in headless Chromium shows the AI score distribution (1280 and 390 px)."""

from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from assessment.models import Assessment, AssessmentState
from chat.tests.factories import QuestionAnswerFactory
from content_loader.models import ContentItem, CourseEntry, ModuleEntry
from content_loader.tests.factories import LearningOutcomeFactory
from dashboard.tests.test_browser import demo, log_in  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/work/notes/shots/as")


def test_staff_see_the_score_distribution(demo, browser_context_factory):  # noqa: F811
    course = ContentItem.objects.courses().get()
    module_id = CourseEntry.objects.filter(course=course, kind="module").order_by("position").first().module_id
    entry = ModuleEntry.objects.filter(module_id=module_id, optional=False).order_by("position").first()
    outcome = LearningOutcomeFactory(title="Explain spaced repetition")
    for number, score in enumerate([1, 2, 3, 3, 4, 4, 4, 5, 5, 2]):
        answer = QuestionAnswerFactory(content_id=entry.item_id, question_key=f"q{number % 2}")
        Assessment.objects.create(
            subject_kind="answer",
            subject_id=answer.pk,
            version="v",
            prompt_version="1-x",
            session_token=answer.session_token,
            content_id=answer.content_id,
            segment_key=answer.question_key,
            learning_outcome_id=outcome.pk,
            state=AssessmentState.DONE,
            score=score,
            reasoning="ok",
            model="fake-model",
            assessed_at=timezone.now(),
        )
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        page = browser_context_factory(viewport={"width": width, "height": 900}).new_page()
        errors = []
        page.on(
            "console", lambda message, errors=errors: errors.append(message.text) if message.type == "error" else None
        )
        log_in(page, demo, f"/admin/login/?next=/admin/dashboard/courses/{course.slug}/", "staffer")
        chart = page.get_by_role("img", name=f"Answers of {course.title} by AI score")
        expect(chart).to_be_visible()
        assert page.locator("#scores-heading ~ figure svg rect[fill='#1a7f37']").count() >= 3  # 5/5 in 3 rows
        expect(page.get_by_role("row", name="Learning outcome Explain spaced repetition")).to_be_visible()
        page.locator("#scores-heading").scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"course-scores-{width}.png"), full_page=True)
        assert errors == []
