"""Staff admin of progress rows: lists, filters, search, and audited corrections that can be undone."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import UserFactory
from content_loader.tests.factories import LensFactory
from progress.models import ProgressAudit, UserContentProgress
from progress.tests.factories import ProgressFactory
from progress.tooling import audit

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/progress/usercontentprogress/"
AUDITS = "/admin/progress/progressaudit/"


@pytest.fixture
def staff(client):
    user = UserFactory(username="staffer", is_staff=True, is_superuser=True)
    client.force_login(user)
    client.user = user
    return client


def test_changelist_shows_learner_registry_title_and_type(staff):
    """Rows show the learner and, where the registry knows the content, its title and type."""
    lens = LensFactory(title="Registry title")
    ProgressFactory(content_id=lens.pk, content_title="Stored title", content_type="test")
    ProgressFactory(user=UserFactory(username="ada"), session_token=None, content_title="Unknown content")
    html = staff.get(CHANGELIST).content.decode()
    assert 'field-title">Registry title<' in html and 'field-kind">lens<' in html
    assert 'field-title">Unknown content<' in html and ">ada<" in html and ">token " in html


def test_changelist_query_count_does_not_grow_with_rows(staff):
    """The list costs the same number of queries for 2 and for 40 rows."""
    counts = []
    for rows in (2, 40):
        ProgressFactory.create_batch(rows, user=None)
        with CaptureQueriesContext(connection) as queries:
            assert staff.get(CHANGELIST).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("content=retired", {"retired"}),
        ("content=unknown", {"unknown"}),
        ("content=active", {"active"}),
        ("completed=yes", {"retired"}),
        ("content_type__exact=test", {"unknown"}),
    ],
)
def test_changelist_filters(staff, query, expected):
    """Filters by type, completion and whether the content is active, retired or unknown to the registry."""
    ProgressFactory(
        content_id=LensFactory(retired_at=timezone.now()).pk, content_title="retired", completed_at=timezone.now()
    )
    ProgressFactory(content_id=LensFactory().pk, content_title="active")
    ProgressFactory(content_title="unknown", content_type="test")
    response = staff.get(f"{CHANGELIST}?{query}")
    shown = {row.content_title for row in response.context["cl"].result_list}
    assert shown == expected


def test_search_by_username_email_token_title_and_uuid(staff):
    """Search finds rows by username, email, token, stored or registry title, and content UUID."""
    lens = LensFactory(title="Alignment basics")
    by_user = ProgressFactory(user=UserFactory(username="grace", email="grace@navy.example"), session_token=None)
    by_registry = ProgressFactory(content_id=lens.pk, content_title="")
    other = ProgressFactory(content_title="Interpretability")

    def found(term):
        return {row.pk for row in staff.get(CHANGELIST, {"q": term}).context["cl"].result_list}

    assert found("grace") == {by_user.pk}
    assert found("navy.example") == {by_user.pk}
    assert found(str(other.session_token)) == {other.pk}
    assert found("alignment") == {by_registry.pk}
    assert found(str(lens.pk)) == {by_registry.pk}
    assert found("interpret") == {other.pk}


def run_action(client, url, action, pks, reason=None):
    data = {"action": action, ACTION_CHECKBOX_NAME: [str(pk) for pk in pks]}
    if reason is None:
        data["index"] = 0
    else:
        data["reason"] = reason
    return client.post(url, data)


def test_mark_complete_asks_for_a_reason_then_audits(staff):
    """The action first asks for a reason; then it completes the rows and writes one audit record each."""
    row = ProgressFactory(time_to_complete_s=42)
    response = run_action(staff, CHANGELIST, "mark_complete", [row.pk])
    assert response.status_code == 200 and b"reason" in response.content
    row.refresh_from_db()
    assert row.completed_at is None and not ProgressAudit.objects.exists()

    response = run_action(staff, CHANGELIST, "mark_complete", [row.pk], reason="Finished it in class")
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.completed_at is not None and row.time_to_complete_s == 42
    record = ProgressAudit.objects.get()
    assert (record.action, record.reason, record.actor, record.progress_id) == (
        "mark_complete",
        "Finished it in class",
        staff.user,
        row.pk,
    )
    assert record.before == {"completed_at": None}
    assert record.after == {"completed_at": row.completed_at.isoformat()}


def test_reset_completion_and_undo_from_admin(staff):
    """A reset is audited and can be undone from the audit list, itself audited; a second undo is refused."""
    completed_at = timezone.now()
    row = ProgressFactory(completed_at=completed_at)
    run_action(staff, CHANGELIST, "reset_completion", [row.pk], reason="Clicked by mistake")
    row.refresh_from_db()
    assert row.completed_at is None
    reset = ProgressAudit.objects.get()

    run_action(staff, AUDITS, "undo", [reset.pk], reason="The learner did finish")
    row.refresh_from_db()
    assert row.completed_at == completed_at
    undo = ProgressAudit.objects.get(action="undo")
    assert undo.undoes == reset and undo.after == {"completed_at": completed_at.isoformat()}

    with pytest.raises(audit.CorrectionRefused, match="already undone"):
        audit.undo(audit_id=reset.pk, actor=staff.user, reason="again")


def test_undo_refuses_to_overwrite_newer_values(staff):
    """If the row changed since the record, the undo is refused."""
    row = ProgressFactory()
    record = audit.mark_complete(row_id=row.pk, actor=staff.user, reason="test")
    UserContentProgress.objects.filter(pk=row.pk).update(completed_at=None)
    with pytest.raises(audit.CorrectionRefused, match="changed since"):
        audit.undo(audit_id=record.pk, actor=staff.user, reason="undo")


def test_undo_of_a_claimed_row_is_refused(staff):
    """A row that no longer exists (claimed into an account) cannot be restored."""
    row = ProgressFactory()
    record = audit.mark_complete(row_id=row.pk, actor=staff.user, reason="test")
    row.delete()
    with pytest.raises(audit.CorrectionRefused, match="no longer exists"):
        audit.undo(audit_id=record.pk, actor=staff.user, reason="undo")


def test_hand_edit_requires_a_reason_and_is_audited(staff):
    """Editing a row by hand needs a reason and writes an audit record of the changed fields."""
    row = ProgressFactory(total_time_spent_s=10, time_to_complete_s=10)
    url = f"{CHANGELIST}{row.pk}/change/"
    form = {"content_title": row.content_title, "time_to_complete_s": 10, "total_time_spent_s": 600}
    response = staff.post(url, form)
    assert response.status_code == 200  # the form comes back: the reason is missing
    row.refresh_from_db()
    assert row.total_time_spent_s == 10

    response = staff.post(url, {**form, "audit_reason": "Video time was not tracked"})
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.total_time_spent_s == 600
    record = ProgressAudit.objects.get()
    assert (record.action, record.before, record.after) == (
        "edit",
        {"total_time_spent_s": 10},
        {"total_time_spent_s": 600},
    )


def test_hand_edit_refuses_negative_times(staff):
    """The database's non-negative constraint shows as a form error."""
    row = ProgressFactory()
    url = f"{CHANGELIST}{row.pk}/change/"
    form = {"content_title": "x", "time_to_complete_s": -3, "total_time_spent_s": 0, "audit_reason": "typo"}
    assert staff.post(url, form).status_code == 200
    assert not ProgressAudit.objects.exists()


def test_audit_records_are_append_only(staff):
    """Audit records cannot be added, changed or deleted in admin."""
    row = ProgressFactory()
    record = audit.mark_complete(row_id=row.pk, actor=staff.user, reason="test")
    assert staff.get(f"{AUDITS}add/").status_code == 403
    assert staff.post(f"{AUDITS}{record.pk}/delete/").status_code == 403
    assert staff.post(f"{AUDITS}{record.pk}/change/", {"reason": "rewritten"}).status_code == 403
    record.refresh_from_db()
    assert record.reason == "test"


def test_progress_rows_cannot_be_added_or_deleted_in_admin(staff):
    """Rows come from learners; staff correct them with audited actions instead."""
    row = ProgressFactory()
    assert staff.get(f"{CHANGELIST}add/").status_code == 403
    assert staff.post(f"{CHANGELIST}{row.pk}/delete/").status_code == 403
    assert UserContentProgress.objects.filter(pk=row.pk).exists()


def test_non_staff_cannot_reach_progress_admin(client):
    """The admin is for staff only."""
    client.force_login(UserFactory())
    assert client.get(CHANGELIST).status_code == 302
