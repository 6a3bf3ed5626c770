"""Finished roleplays are scored like answers: the "roleplay" subject kind, against the real fake model server."""

import json
import uuid

import pytest

from accounts.tests.factories import UserFactory
from assessment.models import Assessment
from chat.tests.fake_tutor import Reply
from content_loader.models import ModuleEntry
from content_loader.tests.factories import LearningOutcomeFactory, LensFactory, ModuleFactory
from jobs.worker import run_queued_jobs
from learn.tests.factories import roleplay_segment
from learners import Learner
from roleplay import services
from roleplay.tests.factories import RoleplayAttemptFactory, RoleplayMessageFactory

pytestmark = pytest.mark.django_db(transaction=True)

ROLEPLAY_ID = uuid.UUID("0b8d1c52-6f0e-4f7e-9a54-5d9b9a1c2e33")
SCORE = json.dumps({"score": 3, "reasoning": "Answered one objection of two.", "key_observations": []})


def finished_attempt(*, rubric: str) -> tuple:
    segment = roleplay_segment(0, roleplay_id=str(ROLEPLAY_ID), assessment=rubric)
    lens = LensFactory(body={"segments": [segment]})
    outcome = LearningOutcomeFactory(body={"statement": "Persuade a peer to space out revision."})
    ModuleEntry.objects.create(module=ModuleFactory(), position=0, item=lens, learning_outcome=outcome)
    user = UserFactory()
    attempt = RoleplayAttemptFactory(
        user=user, session_token=None, roleplay_id=ROLEPLAY_ID, content_id=lens.pk, scenario="Convince Sam."
    )
    RoleplayMessageFactory(attempt=attempt, role="user", text="Spacing beats cramming for recall.")
    RoleplayMessageFactory(attempt=attempt, role="assistant", text="But cramming worked for me last year.")
    services.finish_attempt(learner=Learner(user_id=user.pk), roleplay_id=ROLEPLAY_ID)
    return attempt, outcome


def test_a_finished_roleplay_is_scored_on_its_transcript_rubric_and_outcome(tutor_server):
    attempt, outcome = finished_attempt(rubric="Did the learner answer Sam's objections?")
    tutor_server.script.append(Reply(SCORE))
    run_queued_jobs()
    row = Assessment.objects.get()
    assert (row.subject_kind, row.subject_id, row.state, row.score) == ("roleplay", attempt.pk, "done", 3)
    assert row.learning_outcome_id == outcome.pk and row.user_id == attempt.user_id
    system, user_message = (message["content"] for message in tutor_server.requests[-1]["messages"][:2])
    assert "Did the learner answer Sam's objections?" in system
    assert "Persuade a peer to space out revision." in system
    assert "Convince Sam." in user_message
    assert "Spacing beats cramming for recall." in user_message and "cramming worked for me" in user_message


def test_a_roleplay_without_a_rubric_is_not_scored(tutor_server):
    finished_attempt(rubric="")
    run_queued_jobs()
    assert not Assessment.objects.filter(state="done").exists()
    assert not tutor_server.requests


def test_the_course_distribution_counts_each_learners_latest_roleplay_score_once(tutor_server):
    from assessment import reports

    attempt, _ = finished_attempt(rubric="Did the learner answer Sam's objections?")
    tutor_server.script.append(Reply(SCORE))
    run_queued_jobs()
    services.try_again(learner=Learner(user_id=attempt.user_id), roleplay_id=ROLEPLAY_ID)
    again = RoleplayAttemptFactory(
        user_id=attempt.user_id, session_token=None, roleplay_id=ROLEPLAY_ID, content_id=attempt.content_id
    )
    RoleplayMessageFactory(attempt=again, role="user", text="Spaced practice is proven; here is why.")
    services.finish_attempt(learner=Learner(user_id=attempt.user_id), roleplay_id=ROLEPLAY_ID)
    tutor_server.script.append(Reply(json.dumps({"score": 5, "reasoning": "Both objections.", "key_observations": []})))
    run_queued_jobs()
    assert Assessment.objects.filter(state="done").count() == 2
    rows = reports.distribution([attempt.content_id], {attempt.content_id: "Spacing"})
    by_title = {row.title: row.in_order for row in rows}
    assert by_title["Spacing: Roleplay"] == [0, 0, 0, 0, 1]  # the latest attempt's 5, counted once
    assert [row.in_order for row in rows if row.kind == "Learning outcome"] == [[0, 0, 0, 0, 1]]
