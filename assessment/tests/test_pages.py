"""Scores on the staff dashboard (course and learner pages, CSV) and, when enabled, beside the learner's answer."""

import csv
import io

import pytest
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from assessment.models import Assessment, AssessmentState
from chat.tests.factories import QUESTION_KEY, QuestionAnswerFactory, shared_question
from content_loader.models import ContentItem, ModuleEntry
from content_loader.tests.factories import LearningOutcomeFactory
from dashboard.tests.factories import make_cohort
from learners import Learner

pytestmark = pytest.mark.django_db


def score(answer, value, *, outcome=None, reasoning="Clear."):
    return Assessment.objects.create(
        subject_kind="answer",
        subject_id=answer.pk,
        version=f"v{answer.pk}-{value}",
        prompt_version="1-x",
        user_id=answer.user_id,
        session_token=answer.session_token,
        content_id=answer.content_id,
        segment_key=answer.question_key,
        learning_outcome_id=outcome.pk if outcome else None,
        state=AssessmentState.DONE,
        score=value,
        reasoning=reasoning,
        model="fake-model",
        assessed_at=timezone.now(),
    )


@pytest.fixture
def staff(client):
    client.force_login(UserFactory(username="staffer", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def scored(db):
    cohort = make_cohort()
    entry = ModuleEntry.objects.get(module__slug="first", position=0)
    lens = entry.item
    outcome = LearningOutcomeFactory(title="Explain shutdown resistance")
    ModuleEntry.objects.filter(pk=entry.pk).update(learning_outcome=outcome)
    answers = []
    for value, learner in zip([4, 4, 2], [cohort.ada, None, None], strict=True):
        kwargs = {"user": learner, "session_token": None} if learner else {}
        answer = QuestionAnswerFactory(content_id=lens.pk, question_key=QUESTION_KEY, **kwargs)
        score(answer, value, outcome=outcome)
        answers.append(answer)
    return cohort, lens, answers


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
        assert response.status_code == 200
    return len(queries), response


def test_course_page_shows_the_distribution_per_outcome_and_question(staff, scored):
    _cohort, lens, _answers = scored
    course = ContentItem.objects.get(content_type="course", slug="memory")
    url = reverse("dashboard:course", args=[course.slug])
    queries, response = count_queries(staff, url)
    html = response.content.decode()
    assert "AI scores of answers" in html and "Explain shutdown resistance" in html
    assert "2 scored 4/5" in html and "1 scored 2/5" in html  # tooltips of the SVG bars
    assert queries == 8  # the course page's 7 + the scores (1 query, whatever the number of answers)
    for _ in range(5):
        score(QuestionAnswerFactory(content_id=lens.pk, question_key=QUESTION_KEY), 5)
    assert count_queries(staff, url)[0] == 8
    rows = list(csv.reader(io.StringIO(staff.get(url + "scores.csv").content.decode())))
    assert rows[0][:3] == ["Kind", "Title", "Score 1"]
    outcome_row = next(r for r in rows if r[0] == "Learning outcome")
    assert outcome_row[1:] == ["Explain shutdown resistance", "0", "1", "0", "2", "0", "3", "3.33"]


def test_csv_cells_that_would_be_formulas_are_escaped(staff, scored):
    _cohort, _lens, _answers = scored
    ContentItem.objects.filter(title="Explain shutdown resistance").update(title="=HYPERLINK(1)")
    url = reverse("dashboard:scores-csv", args=["memory"])
    rows = list(csv.reader(io.StringIO(staff.get(url).content.decode())))
    assert any(r[1] == "'=HYPERLINK(1)" for r in rows)


def test_learner_page_shows_the_score_and_reasoning(staff, scored):
    cohort, _lens, _answers = scored
    html = staff.get(reverse("dashboard:learner-user", args=[cohort.ada.pk])).content.decode()
    assert "<strong>4/5</strong> Clear." in html


def test_learners_see_their_score_only_when_the_setting_is_on(settings, scored):
    _cohort, _lens, answers = scored
    template = Template("{% load assessment_tags %}{% learner_score answer as s %}{% if s %}{{ s.score }}/5{% endif %}")
    settings.ASSESSMENT_SHOW_LEARNERS = False
    assert template.render(Context({"answer": answers[0]})) == ""
    settings.ASSESSMENT_SHOW_LEARNERS = True
    assert template.render(Context({"answer": answers[0]})) == "4/5"


def box(request, lens):
    """The question's answer box as a page's view builds it."""
    from chat.panels import build_question_box

    return build_question_box(request, item=lens, segment=shared_question(), locked=False, answer_url="/a/")


def test_the_question_box_shows_the_score_beside_the_saved_answer(settings, scored, rf):
    _cohort, lens, answers = scored
    settings.ASSESSMENT_SHOW_LEARNERS = True
    from django.template.loader import render_to_string

    request = rf.get("/")
    request.user = answers[0].user
    request.learner = Learner(user_id=answers[0].user_id)
    html = render_to_string("chat/question.html", {"box": box(request, lens), "request": request}, request=request)
    assert "data-ai-score" in html and "4/5" in html
    settings.ASSESSMENT_SHOW_LEARNERS = False
    html = render_to_string("chat/question.html", {"box": box(request, lens), "request": request}, request=request)
    assert "data-ai-score" not in html
