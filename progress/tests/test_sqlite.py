"""`make run` uses SQLite: the hand-written upserts must work there as well as on PostgreSQL."""

import textwrap

from devtools.sqlite import run_script

SCRIPT = textwrap.dedent(
    """
    import uuid
    from datetime import timedelta

    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.test import Client

    from content_loader.tests.factories import make_module
    from learners import Learner
    from progress.models import LearnerClock, UserContentProgress
    from progress.queries import course_progress, module_progress
    from progress.services import UnknownContent, claim_progress, complete_content, record_heartbeat

    module = make_module(lenses=2, slug="m")
    one, two = [e.item for e in module.module_entries.order_by("position")]
    token = uuid.uuid4()
    learner = Learner(session_token=token)

    record_heartbeat(learner=learner, content_id=one.pk, time_delta_s=500)
    row = UserContentProgress.objects.get(content_id=one.pk)
    assert (row.total_time_spent_s, row.content_title) == (120, one.title), row.total_time_spent_s
    # The test moves the learner's clock back to let time pass; the row was opened that long ago too.
    UserContentProgress.objects.filter(pk=row.pk).update(started_at=row.started_at - timedelta(minutes=10))
    clock = LearnerClock.objects.get(session_token=token)
    LearnerClock.objects.filter(pk=clock.pk).update(credited_until=clock.credited_until - timedelta(seconds=30))
    record_heartbeat(learner=learner, content_id=one.pk, time_delta_s=60)
    assert UserContentProgress.objects.get(pk=row.pk).total_time_spent_s == 120 + 35
    assert record_heartbeat(learner=learner, content_id=two.pk, time_delta_s=60) <= 1  # one place at a time
    try:
        record_heartbeat(learner=learner, content_id=uuid.uuid4(), time_delta_s=60)
        raise AssertionError("an unknown UUID was credited")
    except UnknownContent:
        pass

    first = complete_content(learner=learner, content_id=one.pk, content_type="lens", module_slug="m")
    again = complete_content(learner=learner, content_id=one.pk, content_type="lens", module_slug="m")
    assert first.newly_completed and not again.newly_completed and first.completed_at == again.completed_at
    last = complete_content(learner=learner, content_id=two.pk, content_type="lens", module_slug="m")
    assert last.module_newly_completed and last.module.status == "completed"
    LearnerClock.objects.filter(pk=clock.pk).update(credited_until=clock.credited_until - timedelta(seconds=60))
    record_heartbeat(learner=learner, content_id=one.pk, time_delta_s=10)
    row = UserContentProgress.objects.get(pk=row.pk)
    assert row.time_to_complete_s == 155 and row.total_time_spent_s > 155

    user = User.objects.create_user("sqlite", password="pw-for-sqlite-test")
    record_heartbeat(learner=Learner(user_id=user.pk), content_id=one.pk, time_delta_s=5)
    receipt = claim_progress(user=user, session_token=token)
    assert receipt.progress_records_claimed == 3 and receipt.lenses_completed == 2, receipt
    merged = UserContentProgress.objects.get(user=user, content_id=one.pk)
    assert merged.total_time_spent_s == row.total_time_spent_s + 5 and merged.completed_at == row.completed_at
    # Merged time is bounded by the span it was earned in (here: one heartbeat's maximum and the slack).
    twins = [uuid.uuid4() for _ in range(5)]
    for twin in twins:
        record_heartbeat(learner=Learner(session_token=twin), content_id=two.pk, time_delta_s=120)
        claim_progress(user=user, session_token=twin)
    assert UserContentProgress.objects.get(user=user, content_id=two.pk).total_time_spent_s <= 5 + 120 + 125
    assert module_progress(learner=Learner(user_id=user.pk), module=module).status == "completed"

    client = Client()
    other = uuid.uuid4()
    response = client.post(
        "/api/progress/time",
        {"content_id": str(two.pk), "time_delta_s": 9},
        content_type="application/json",
        headers={"X-Session-Token": str(other)},
    )
    assert response.status_code == 204, response.content[:500]
    response = client.get("/api/modules/m/progress", headers={"X-Session-Token": str(other)})
    assert response.json()["lenses"][1]["timeSpentS"] == 9
    print("ok")
    """
)


def test_write_paths_and_api_work_on_sqlite(tmp_path):
    """Heartbeats, completion, module rows, claiming and the API run on the SQLite default database."""
    result = run_script(tmp_path, SCRIPT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
