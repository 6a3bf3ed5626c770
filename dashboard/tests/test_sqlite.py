"""`make run` uses SQLite: the dashboard's SQL (a median without percentile_cont), the doctor, the learner
data services and the legacy import from a file must work there as on PostgreSQL."""

import textwrap

import pytest

from devtools.sqlite import run_script

SCRIPT = textwrap.dedent(
    """
    import json
    import tempfile
    from io import StringIO

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from dashboard.queries import for_course_dashboard, for_learner_page
    from dashboard.tests.factories import make_cohort
    from progress.tooling.doctor import diagnose, run_doctor
    from learners import Learner
    from progress.tooling.learner_data import erase_learner_data, export_learner_data
    from progress.models import UserContentProgress

    assert connection.vendor == "sqlite"
    cohort = make_cohort()
    stats = for_course_dashboard(cohort.course)
    first, second = stats.modules
    assert stats.cohort == 5 and (first.completed, first.in_progress, first.not_started) == (1, 2, 2), stats
    assert (second.completed, second.not_started) == (2, 3)
    assert [(l.median_seconds, l.timed, l.completed) for l in stats.lenses] == [(90, 2, 3), (200, 1, 1), (350, 2, 2)]
    assert [m.status for m in for_learner_page(Learner(user_id=cohort.ada.pk)).courses[0].modules] == [
        "completed", "completed"
    ]

    from django.contrib.auth.models import User
    User.objects.create_superuser("staff", "s@example.com", "pw-staff-sqlite-1")
    client = Client()
    client.force_login(User.objects.get(username="staff"))
    with CaptureQueriesContext(connection) as queries:
        html = client.get("/admin/dashboard/courses/memory/").content.decode()
    assert "Cohort: 5 learners" in html and html.count('role="img"') == 3, html[:2000]
    assert len(queries) == 8, [q["sql"] for q in queries.captured_queries]  # as on PostgreSQL (+ AI scores)

    kinds = sorted(f.kind for f in diagnose())
    # The factory wrote no module rows: four finished modules lack one; one row is on a replaced UUID.
    assert kinds == ["completion"] * 4 + ["replaced"], kinds
    report = run_doctor(fix=True)
    assert report.exit_code == 0 and report.fixed == 5, report.lines()
    assert diagnose() == []

    document = export_learner_data(learner=Learner(user_id=cohort.ada.pk))
    assert len(document["chat_sessions"]) == 1 and len(document["progress"]) >= 3
    counts = erase_learner_data(learner=Learner(user_id=cohort.ada.pk))
    assert counts["accounts"] == 1 and not UserContentProgress.objects.filter(user_id=cohort.ada.pk).exists()

    rows = [
        {"id": 1, "user_id": cohort.bea.pk, "module_slug": "first", "messages": [{"role": "user", "content": "hi"}],
         "started_at": "2025-01-01T10:00:00Z", "completed_at": "2025-01-01T11:00:00Z"},
        {"id": 2, "user_id": None, "module_slug": "nowhere", "messages": [], "started_at": "2025-01-01T10:00:00Z"},
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(rows, handle)
    out, err = StringIO(), StringIO()
    try:
        call_command("import_legacy_sessions", "--file", handle.name, "--user-map", "id", stdout=out, stderr=err)
    except SystemExit:
        pass
    except Exception as exc:
        assert "skipped with problems" in str(exc), exc
    assert "imported 1 (1 conversation with 1 message, 1 module completion" in out.getvalue(), out.getvalue()
    assert "row 2 (id 2): unknown module slug 'nowhere'" in err.getvalue()
    print("ok")
    """
)


@pytest.mark.slow
def test_dashboard_doctor_data_rights_and_import_work_on_sqlite(tmp_path):
    """The staff tools run on the SQLite default database with the same answers as on PostgreSQL."""
    result = run_script(tmp_path, SCRIPT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
