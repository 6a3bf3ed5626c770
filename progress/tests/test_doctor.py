"""progress_doctor: every finding, every repair, its audit records, the summary and the exit status."""

import uuid
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import UserFactory
from content_loader.models import ReplacedId
from content_loader.tests.factories import LensFactory, make_module
from progress.models import ClaimedToken, ProgressAudit, UserContentProgress
from progress.tests.factories import (
    ProgressFactory,
    lenses_of,
    make_outcome_module,
    make_parent_module,
)
from progress.tooling import audit
from progress.tooling.doctor import diagnose, run_doctor

pytestmark = pytest.mark.django_db


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, tzinfo=UTC)


def done(user, item, when: datetime, **fields) -> UserContentProgress:
    """A completed row of `item` for `user` (an account) as the engine would have written it."""
    return ProgressFactory(
        user=user,
        session_token=None,
        content_id=item.pk,
        content_type=item.content_type,
        started_at=when - timedelta(minutes=5),
        completed_at=when,
        **fields,
    )


def doctor(*args) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("progress_doctor", *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue()
    return 0, out.getvalue()


def kinds() -> list[str]:
    return sorted(finding.kind for finding in diagnose())


def test_a_clean_database_has_no_problems():
    """Consistent progress gives no finding, the summary says so, and the exit status is 0."""
    user = UserFactory()
    module = make_module(lenses=2)
    for number, lens in enumerate(lenses_of(module), start=1):
        done(user, lens, at(number))
    done(user, module, at(2))
    assert doctor() == (0, "progress_doctor: no problems found.\n")


def test_a_module_row_completed_against_its_lenses_is_reported_then_cleared():
    """A stored completion that the lenses don't support is found; --fix clears it with an audit record."""
    user = UserFactory(username="ada")
    module = make_module(lenses=2)
    done(user, lenses_of(module)[0], at(1))
    row = done(user, module, at(2))

    code, out = doctor()
    assert code == 1
    assert f"completion: user {user.pk} (ada): module" in out
    assert "stored completed at 2026-01-02T00:00:00+00:00 but its steps say in progress (1/2)" in out
    assert out.splitlines()[-1] == "progress_doctor: 1 problem (1 completion mismatch); 1 can be repaired with --fix."
    assert UserContentProgress.objects.get(pk=row.pk).completed_at == at(2)  # a report writes nothing

    code, out = doctor("--fix")
    assert code == 0
    assert out.splitlines()[-1] == (
        "progress_doctor: 1 problem (1 completion mismatch); repaired 1 (1 audit record); 0 remain."
    )
    assert UserContentProgress.objects.get(pk=row.pk).completed_at is None
    record = ProgressAudit.objects.get()
    assert (record.action, record.progress_id, record.learner, record.actor) == (
        "doctor_status",
        row.pk,
        f"user {user.pk}",
        None,
    )
    assert record.actor_username.startswith("progress_doctor")
    assert record.before == {"completed_at": "2026-01-02T00:00:00+00:00"} and record.after == {"completed_at": None}
    assert doctor() == (0, "progress_doctor: no problems found.\n")


def test_a_finished_module_without_a_row_gets_one_completed_when_its_last_lens_was():
    """Lenses all completed but no module row: --fix creates the row, completed at the last lens's time."""
    user = UserFactory()
    module = make_module(lenses=2, optional=1)
    first, second, _optional = lenses_of(module)
    done(user, first, at(3))
    done(user, second, at(5))

    assert kinds() == ["completion"]
    assert "is completed by its steps (2/2) but it has no row" in diagnose()[0].message
    run_doctor(fix=True)
    row = UserContentProgress.objects.get(user=user, content_id=module.pk)
    assert (row.content_type, row.completed_at, row.content_title) == ("module", at(5), module.title)
    record = ProgressAudit.objects.get()
    assert (record.progress_id, record.before, record.after) == (
        row.pk,
        {"completed_at": None},
        {"completed_at": "2026-01-05T00:00:00+00:00"},
    )


def test_an_uncompleted_module_row_of_a_finished_module_is_completed():
    """A module row left without completion although its lenses are done gets its completion."""
    user = UserFactory()
    module = make_module(lenses=1)
    done(user, lenses_of(module)[0], at(4))
    row = ProgressFactory(user=user, session_token=None, content_id=module.pk, content_type="module")
    run_doctor(fix=True)
    assert UserContentProgress.objects.get(pk=row.pk).completed_at == at(4)
    assert UserContentProgress.objects.filter(content_id=module.pk).count() == 1


def test_optional_lenses_do_not_finish_a_module_and_replaced_ids_do():
    """Only required steps count; a completion stored under a replaced UUID counts for the new lens."""
    user = UserFactory()
    module = make_module(lenses=1, optional=1)
    required, optional = lenses_of(module)
    done(user, optional, at(1))
    assert kinds() == []  # an optional lens alone: not started, and no module row: nothing to say
    old_id = uuid.uuid4()
    ReplacedId.objects.create(old_id=old_id, item=required)
    ProgressFactory(user=user, session_token=None, content_id=old_id, completed_at=at(2))
    assert kinds() == ["completion", "replaced"]
    run_doctor(fix=True)
    assert kinds() == []
    assert UserContentProgress.objects.get(user=user, content_id=module.pk).completed_at == at(2)


def test_learning_outcome_rows_are_checked_like_modules():
    """An outcome row completed early is cleared; a finished outcome without a row gets one."""
    user = UserFactory()
    _module, outcome, lenses = make_outcome_module(required=2)
    done(user, lenses[0], at(1))
    row = done(user, outcome, at(1))
    assert [f.message.startswith("learning outcome") for f in diagnose()] == [True]
    run_doctor(fix=True)
    assert UserContentProgress.objects.get(pk=row.pk).completed_at is None

    done(user, lenses[1], at(2))
    findings = diagnose()
    assert len(findings) == 2  # the outcome and its module, both finished, the outcome's row not completed
    run_doctor(fix=True)
    assert UserContentProgress.objects.get(pk=row.pk).completed_at == at(2)


def test_parent_modules_are_derived_from_all_their_submodules():
    """A parent module is completed when every submodule's required lenses are."""
    user = UserFactory()
    parent, subs = make_parent_module(submodules=[1, 1])
    done(user, lenses_of(subs[0])[0], at(1))
    done(user, subs[0], at(1))
    row = done(user, parent, at(1))
    assert len(diagnose()) == 1  # the parent's row, and only it
    run_doctor(fix=True)
    assert UserContentProgress.objects.get(pk=row.pk).completed_at is None


def test_rows_under_a_claimed_token_count_for_the_account():
    """A lens completed by a late request under a claimed token counts for the account, as on pages."""
    user = UserFactory()
    token = uuid.uuid4()
    ClaimedToken.objects.create(token=token, user=user)
    module = make_module(lenses=2)
    one, two = lenses_of(module)
    done(user, one, at(1))
    ProgressFactory(session_token=token, content_id=two.pk, completed_at=at(2))
    done(user, module, at(2))
    assert kinds() == []


def test_rows_on_a_replaced_uuid_are_merged_by_the_claiming_rules():
    """Old-UUID rows merge into the new lens's row: earliest completion and its time, summed total time."""
    user = UserFactory()
    new = LensFactory(title="New lens")
    old_id = uuid.uuid4()
    ReplacedId.objects.create(old_id=old_id, item=new)
    old = ProgressFactory(
        user=user,
        session_token=None,
        content_id=old_id,
        content_title="Old title",
        started_at=at(1),
        completed_at=at(2),
        time_to_complete_s=300,
        total_time_spent_s=400,
        last_heartbeat_at=at(2),
    )
    current = ProgressFactory(
        user=user,
        session_token=None,
        content_id=new.pk,
        started_at=at(3),
        completed_at=at(4),
        time_to_complete_s=100,
        total_time_spent_s=150,
        last_heartbeat_at=at(5),
    )
    code, out = doctor()
    assert code == 1 and f'is stored under {old_id}, which "New lens" ({new.pk}) replaces' in out

    code, out = doctor("--fix")
    assert code == 0 and "repaired 1 (2 audit records)" in out
    assert not UserContentProgress.objects.filter(content_id=old_id).exists()
    merged = UserContentProgress.objects.get(content_id=new.pk)
    assert merged.pk == current.pk
    assert (merged.started_at, merged.completed_at, merged.time_to_complete_s) == (at(1), at(2), 300)
    assert (merged.total_time_spent_s, merged.last_heartbeat_at) == (550, at(5))

    records = {record.progress_id: record for record in ProgressAudit.objects.all()}
    assert records[old.pk].after == {"merged_into": current.pk, "content_id": str(new.pk)}
    assert records[old.pk].before["total_time_spent_s"] == 400
    assert records[current.pk].before["total_time_spent_s"] == 150
    assert records[current.pk].after["total_time_spent_s"] == 550
    with pytest.raises(audit.CorrectionRefused, match="merge"):
        audit.undo(audit_id=records[current.pk].pk, actor=UserFactory(is_staff=True), reason="try")


def test_a_replaced_row_without_a_current_row_moves_for_an_anonymous_learner():
    """An anonymous learner's old-UUID row becomes their row of the new lens, with the registry's title."""
    token = uuid.uuid4()
    new = LensFactory(title="New lens")
    old_id = uuid.uuid4()
    ReplacedId.objects.create(old_id=old_id, item=new)
    ProgressFactory(session_token=token, content_id=old_id, content_title="Old", total_time_spent_s=70)
    run_doctor(fix=True)
    row = UserContentProgress.objects.get()
    assert (row.session_token, row.content_id, row.content_title, row.total_time_spent_s) == (
        token,
        new.pk,
        "New lens",
        70,
    )
    created = ProgressAudit.objects.get(progress_id=row.pk)
    assert created.before == {} and created.learner == f"token {token}"


def test_unknown_uuids_are_reported_and_never_deleted():
    """Progress on a UUID the registry does not know stays; the exit status says a problem remains."""
    unknown = uuid.uuid4()
    ProgressFactory.create_batch(2, content_id=unknown, content_title="Gone lens")
    code, out = doctor("--fix")
    assert code == 1
    assert f'2 lens rows on {unknown} (stored title "Gone lens"), a UUID the registry does not know; kept' in out
    assert out.splitlines()[-1] == (
        "progress_doctor: 1 problem (1 UUID unknown to the registry); repaired 0 (0 audit records); "
        "1 remains (reported only)."
    )
    assert UserContentProgress.objects.filter(content_id=unknown).count() == 2
    assert not ProgressAudit.objects.exists()


def test_more_time_on_one_day_than_it_has_is_reported():
    """Rows of one day adding up to over 24 hours are implausible; under 24 hours are not."""
    user = UserFactory()
    lenses = [LensFactory() for _ in range(3)]
    day = at(7, 1)
    for lens, seconds in zip(lenses, (40_000, 40_000, 7_000), strict=True):
        ProgressFactory(
            user=user,
            session_token=None,
            content_id=lens.pk,
            started_at=day,
            last_heartbeat_at=day + timedelta(hours=20),
            total_time_spent_s=seconds,
        )
    ProgressFactory(content_id=lenses[0].pk, started_at=day, last_heartbeat_at=day, total_time_spent_s=80_000)
    code, out = doctor("--fix")
    assert code == 1
    assert f"implausible: user {user.pk} (" in out
    assert "87,000 s of active time on 2026-01-07 (UTC), more than the 86,400 s a day has" in out
    assert out.count("implausible:") == 1 and "remains (reported only)" in out


def test_a_row_spanning_days_is_weighed_against_the_days_it_spans():
    """50 hours over three days is plausible; 80 hours over two days is not."""
    lens = LensFactory()
    ProgressFactory(content_id=lens.pk, started_at=at(1), last_heartbeat_at=at(3, 12), total_time_spent_s=180_000)
    assert kinds() == []
    row = ProgressFactory(
        content_id=lens.pk, started_at=at(10), last_heartbeat_at=at(11, 23), total_time_spent_s=288_000
    )
    [finding] = diagnose()
    assert finding.kind == "implausible"
    assert f"row {row.pk}" in finding.message and "between 2026-01-10 and 2026-01-11" in finding.message


def test_fixes_happen_in_one_transaction():
    """When writing the audit records fails, none of the repairs is kept."""
    user = UserFactory()
    module = make_module(lenses=2)
    done(user, lenses_of(module)[0], at(1))
    row = done(user, module, at(2))
    new = LensFactory()
    old_id = uuid.uuid4()
    ReplacedId.objects.create(old_id=old_id, item=new)
    ProgressFactory(user=user, session_token=None, content_id=old_id, total_time_spent_s=10)

    def fail(*args, **kwargs):
        raise RuntimeError("audit table unavailable")

    original = ProgressAudit.objects.bulk_create
    ProgressAudit.objects.bulk_create = fail
    try:
        with pytest.raises(RuntimeError):
            run_doctor(fix=True)
    finally:
        ProgressAudit.objects.bulk_create = original
    assert UserContentProgress.objects.get(pk=row.pk).completed_at == at(2)
    assert UserContentProgress.objects.filter(content_id=old_id).exists()
    assert sorted(kinds()) == ["completion", "replaced"]


def test_a_doctor_completion_repair_can_be_undone_from_admin():
    """A cleared completion is an ordinary audited change: undo puts the stored completion back."""
    user = UserFactory()
    module = make_module(lenses=2)
    done(user, lenses_of(module)[0], at(1))
    row = done(user, module, at(2))
    run_doctor(fix=True)
    record = ProgressAudit.objects.get()
    audit.undo(audit_id=record.pk, actor=UserFactory(is_staff=True), reason="the learner did finish it offline")
    assert UserContentProgress.objects.get(pk=row.pk).completed_at == at(2)


def test_diagnosis_costs_the_same_queries_for_few_and_many_learners():
    """The checks are a fixed number of queries, however many learners, rows and modules there are."""
    counts = []
    for learners in (1, 12):
        module = make_module(lenses=3)
        for _ in range(learners):
            user = UserFactory()
            done(user, lenses_of(module)[0], at(1))
            done(user, module, at(1))
        with CaptureQueriesContext(connection) as queries:
            diagnose()
        counts.append(len(queries))
    assert counts[0] == counts[1]
