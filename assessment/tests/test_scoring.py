"""Scoring saved answers in the background, against the real fake model server (nothing in openai mocked)."""

import json
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.tests.factories import UserFactory
from assessment.models import Assessment, AssessmentState
from chat import services
from chat.tests.factories import shared_question
from chat.tests.fake_tutor import Fail, Reply
from content_loader.models import ModuleEntry
from content_loader.tests.factories import LearningOutcomeFactory, LensFactory, ModuleFactory
from jobs.worker import run_queued_jobs
from learners import Learner
from progress.tooling.learner_data import erase_learner_data, export_learner_data

pytestmark = pytest.mark.django_db(transaction=True)

GOOD = json.dumps(
    {
        "score": 4,
        "reasoning": "Names instrumental convergence; no example.",
        "dimensions": [{"name": "Accuracy", "score": 4, "note": "Right idea."}],
        "key_observations": ["Mentions goals"],
    }
)


@pytest.fixture
def lens():
    question = shared_question()
    lens = LensFactory(body={"segments": [question]})
    outcome = LearningOutcomeFactory(body={"statement": "Explain why agents resist shutdown."})
    ModuleEntry.objects.create(module=ModuleFactory(), position=0, item=lens, learning_outcome=outcome)
    return lens


def save(lens, user, text, question=None):
    return services.save_answer(
        learner=Learner(user_id=user.pk),
        content_id=lens.pk,
        content_type="lens",
        question=question or lens.body["segments"][0],
        text=text,
        locked=False,
    )


def make_retries_due():
    DBTaskResult.objects.update(run_after=timezone.now())


def test_a_saved_answer_is_scored_with_the_rubric_question_and_outcome(tutor_server, lens):
    user = UserFactory()
    answer = save(lens, user, "It would stop it reaching its goal.")
    tutor_server.script.append(Reply(GOOD))
    assert Assessment.objects.get().state == AssessmentState.QUEUED
    run_queued_jobs()
    row = Assessment.objects.get()
    assert (row.state, row.score, row.subject_kind, row.subject_id) == ("done", 4, "answer", answer.pk)
    assert row.reasoning == "Names instrumental convergence; no example."
    assert row.dimensions == [{"name": "Accuracy", "score": 4, "note": "Right idea."}]
    assert row.observations == ["Mentions goals"] and row.model == "fake-model" and row.attempts == 1
    assert row.raw_response == GOOD and row.assessed_at is not None
    request = tutor_server.requests[-1]
    assert request["response_format"]["type"] == "json_schema"
    assert "stream" not in request or not request["stream"]
    system, user_message = request["messages"][0]["content"], request["messages"][1]["content"]
    assert "Look for instrumental convergence." in system
    assert "Explain why agents resist shutdown." in system
    assert "Why might an AI resist being switched off?" in user_message
    assert "It would stop it reaching its goal." in user_message


def test_assessment_model_setting_overrides_the_tutor_model(tutor_server, lens, settings):
    settings.ASSESSMENT_MODEL = "judge-model"
    save(lens, UserFactory(), "An answer.")
    tutor_server.script.append(Reply(GOOD))
    run_queued_jobs()
    assert tutor_server.requests[-1]["model"] == "judge-model"
    assert Assessment.objects.get().model == "judge-model"


def test_a_question_without_a_rubric_is_not_scored(tutor_server):
    question = shared_question()
    question["assessment_instructions"] = ""
    lens = LensFactory(body={"segments": [question]})
    save(lens, UserFactory(), "An answer.", question=question)
    run_queued_jobs()
    assert not Assessment.objects.exists() and not tutor_server.requests


def test_failures_invalid_json_and_out_of_range_scores_are_retried_then_marked_failed(tutor_server, lens):
    save(lens, UserFactory(), "An answer.")
    tutor_server.script.extend([Fail(500), Reply("not json {"), Reply(json.dumps({"score": 7, "reasoning": "x"}))])
    run_queued_jobs()
    row = Assessment.objects.get()
    assert (row.state, row.attempts) == ("queued", 1) and "HTTP 500" in row.error
    assert run_queued_jobs() == 0  # backoff: not due yet
    make_retries_due()
    run_queued_jobs()
    row.refresh_from_db()
    assert row.attempts == 2 and "not JSON" in row.error and row.raw_response == "not json {"
    make_retries_due()
    run_queued_jobs()
    row.refresh_from_db()
    assert row.attempts == 3 and "score 7" in row.error
    tutor_server.script.append(Fail(503))
    make_retries_due()
    run_queued_jobs()
    row.refresh_from_db()
    assert (row.state, row.attempts, row.score) == ("failed", 4, None) and "HTTP 503" in row.error
    assert len(tutor_server.requests) == 4


def test_a_failed_attempt_then_success_stores_the_score(tutor_server, lens):
    save(lens, UserFactory(), "An answer.")
    tutor_server.script.extend([Fail(429), Reply(GOOD)])
    run_queued_jobs()
    make_retries_due()
    run_queued_jobs()
    row = Assessment.objects.get()
    assert (row.state, row.score, row.attempts, row.error) == ("done", 4, 2, "")


def test_a_job_run_twice_stores_one_score_and_calls_the_model_once(tutor_server, lens):
    from assessment.jobs import assess

    save(lens, UserFactory(), "An answer.")
    tutor_server.script.append(Reply(GOOD))
    run_queued_jobs()
    row = Assessment.objects.get()
    assess.enqueue(row.pk)  # the same job again (a worker killed after the model answered)
    run_queued_jobs()
    assert Assessment.objects.count() == 1 and len(tutor_server.requests) == 1
    # Saving the same text again is the same version: not scored again.
    save(lens, row.user, "An answer.")
    run_queued_jobs()
    assert Assessment.objects.count() == 1 and len(tutor_server.requests) == 1


def test_superseded_versions_are_skipped_when_their_job_runs(tutor_server, lens):
    user = UserFactory()
    for number in range(5):
        save(lens, user, f"Version {number}")
    tutor_server.script.append(Reply(GOOD))
    run_queued_jobs()
    assert len(tutor_server.requests) == 1  # only the version current when the jobs ran
    assert "Version 4" in tutor_server.requests[0]["messages"][1]["content"]
    states = sorted(Assessment.objects.values_list("state", flat=True))
    assert states == ["done"] + ["superseded"] * 4


def test_assess_command_rescores_after_the_rubric_changed(tutor_server, lens, capsys):
    user = UserFactory()
    save(lens, user, "An answer.")
    tutor_server.script.append(Reply(GOOD))
    run_queued_jobs()
    since = (timezone.now() - timedelta(days=1)).date().isoformat()
    call_command("assess", "--since", since)
    assert "0 to enqueue" in capsys.readouterr().out  # nothing changed: already scored
    question = dict(lens.body["segments"][0], assessment_instructions="Look for a concrete example.")
    lens.body = {"segments": [question]}
    lens.save()
    call_command("assess", "--since", since, "--dry-run")
    out = capsys.readouterr().out
    assert "would enqueue" in out and "1 to enqueue" in out and Assessment.objects.count() == 1
    call_command("assess", "--since", since, "--question", "nope")
    assert "0 to enqueue" in capsys.readouterr().out
    call_command("assess", "--since", since, "--question", question["key"])
    assert "enqueued" in capsys.readouterr().out
    tutor_server.script.append(Reply(json.dumps({"score": 2, "reasoning": "No example.", "dimensions": []})))
    run_queued_jobs()
    assert sorted(Assessment.objects.values_list("score", flat=True)) == [2, 4]
    assert "concrete example" in tutor_server.requests[-1]["messages"][0]["content"]


def test_assess_command_refuses_a_bad_date():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("assess", "--since", "last week")


def test_export_and_erase_cover_scores(tutor_server, lens):
    user = UserFactory()
    save(lens, user, "An answer.")
    tutor_server.script.append(Reply(GOOD))
    run_queued_jobs()
    exported = export_learner_data(learner=Learner(user_id=user.pk, session_token=None))
    assert exported["assessments"][0]["score"] == 4
    assert exported["assessments"][0]["reasoning"] == "Names instrumental convergence; no example."
    erase_learner_data(learner=Learner(user_id=user.pk, session_token=None))
    assert not Assessment.objects.exists()


def test_anonymous_answers_are_scored_and_erased_by_token(tutor_server, lens):
    token = uuid.uuid4()
    services.save_answer(
        learner=Learner(session_token=token),
        content_id=lens.pk,
        content_type="lens",
        question=lens.body["segments"][0],
        text="Anon answer",
        locked=False,
    )
    tutor_server.script.append(Reply(GOOD))
    run_queued_jobs()
    assert Assessment.objects.get().session_token == token
    erase_learner_data(learner=Learner(user_id=None, session_token=token))
    assert not Assessment.objects.exists()
