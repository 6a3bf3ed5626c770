"""The staff dashboard: numbers, charts, CSV, learner pages, data actions, query counts, and who may see it."""

import csv
import io
import json
import uuid

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import UserFactory
from chat.models import ChatMessage, ChatSession
from content_loader.models import ContentItem
from content_loader.tests.factories import make_course, make_module
from dashboard.queries import for_course_dashboard
from dashboard.tests.factories import make_cohort, row
from learners import Learner
from progress.models import LearnerDataAudit, UserContentProgress
from progress.tests.factories import ProgressFactory, lenses_of

pytestmark = pytest.mark.django_db

COURSE = "/admin/dashboard/courses/memory/"


@pytest.fixture
def staff(client):
    client.force_login(UserFactory(username="staffer", is_staff=True, is_superuser=True))
    return client


def test_module_counts_follow_the_learner_pages_rules():
    """Required steps only, replaced UUIDs and claimed tokens count; learners of other courses don't."""
    cohort = make_cohort()
    stats = for_course_dashboard(cohort.course)
    assert stats.cohort == 5
    first, second = stats.modules
    assert (first.title, first.required, first.completed, first.in_progress, first.not_started) == (
        "First steps",
        2,
        1,
        2,
        2,
    )
    assert (second.completed, second.in_progress, second.not_started, second.started) == (2, 0, 3, 2)


def test_median_time_per_required_lens_leaves_out_untracked_completions():
    """Median of the time to complete over learners with tracked time; optional lenses are not listed."""
    cohort = make_cohort()
    lenses = {lens.title: lens for lens in for_course_dashboard(cohort.course).lenses}
    assert list(lenses) == ["first lens 1", "first lens 2", "second lens 1"]
    assert (lenses["first lens 1"].median_seconds, lenses["first lens 1"].timed) == (90, 2)
    assert lenses["first lens 1"].completed == 3
    assert (lenses["first lens 2"].median_seconds, lenses["second lens 1"].median_seconds) == (200, 350)
    assert lenses["first lens 1"].estimated_seconds == 90


def test_implausible_times_do_not_poison_the_median_and_the_doctor_still_reports_them():
    """A forged day (and more) on a lens completed a minute after it was opened is left out of the median (counted as
    untracked), and progress_doctor keeps reporting it as implausible."""
    from progress.tooling.doctor import run_doctor

    cohort = make_cohort()
    first_lens = lenses_of(cohort.first)[0]
    forged = UserFactory(username="forger")
    row(user=forged, item=first_lens, seconds=60, day=2)
    UserContentProgress.objects.filter(user=forged).update(time_to_complete_s=90_000, total_time_spent_s=90_000)
    lenses = {lens.title: lens for lens in for_course_dashboard(cohort.course).lenses}
    assert (lenses["first lens 1"].median_seconds, lenses["first lens 1"].timed) == (90, 2)
    assert lenses["first lens 1"].completed == 4
    report = run_doctor(fix=False)
    assert any(f.kind == "implausible" and f.owner == Learner(user_id=forged.pk) for f in report.found), report.found


def test_the_course_page_draws_accessible_charts_and_tables(staff):
    """Two SVG images with a title, a description and a label, bars and dots, and the numbers as tables."""
    make_cohort()
    html = staff.get(COURSE).content.decode()
    assert html.count('role="img"') == 3 and html.count("aria-label=") >= 2
    assert '<title id="bars-title">Learners per module of' in html and '<desc id="dots-desc">' in html
    assert "First steps: 1 completed, 2 in progress, 2 not started" in html
    assert "Cohort: 5 learners" in html
    assert 'fill="#1a7f37"' in html and "<circle" in html
    assert "style=" not in html.split("<svg", 1)[1].rsplit("</svg>", 1)[0]
    assert "1.5 min" in html and "3.3 min" in html and "5.8 min" in html


def test_csv_downloads_hold_the_same_numbers(staff):
    """The module and lens tables download as CSV attachments."""
    make_cohort()
    response = staff.get(COURSE + "modules.csv")
    assert response["Content-Disposition"] == 'attachment; filename="memory-modules.csv"'
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["module"], r["cohort"], r["not_started"], r["in_progress"], r["completed"]) for r in rows] == [
        ("First steps", "5", "2", "2", "1"),
        ("Second thoughts", "5", "3", "0", "2"),
    ]
    lenses = list(csv.DictReader(io.StringIO(staff.get(COURSE + "lenses.csv").content.decode())))
    assert [(r["title"], r["estimated_seconds"], r["median_seconds"], r["learners_timed"]) for r in lenses] == [
        ("first lens 1", "90", "90", "2"),
        ("first lens 2", "90", "200", "1"),
        ("second lens 1", "90", "350", "2"),
    ]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_that_would_be_formulas_are_escaped(staff, start):
    """A title starting with a formula character downloads with a leading apostrophe; numbers stay numbers."""
    make_cohort()
    title = f'{start}HYPERLINK("https://evil.example","x")'
    ContentItem.objects.filter(title="First steps").update(title=title)
    ContentItem.objects.filter(title="first lens 1").update(title=title)
    modules = list(csv.DictReader(io.StringIO(staff.get(COURSE + "modules.csv").content.decode(), newline="")))
    lenses = list(csv.DictReader(io.StringIO(staff.get(COURSE + "lenses.csv").content.decode(), newline="")))
    assert [(r["module"], r["cohort"], r["completed"]) for r in modules] == [
        ("'" + title, "5", "1"),
        ("Second thoughts", "5", "2"),
    ]
    assert (lenses[0]["module"], lenses[0]["title"]) == ("'" + title, "'" + title)
    assert (lenses[0]["estimated_seconds"], lenses[0]["median_seconds"]) == ("90", "90")


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_course_page_queries_do_not_grow_with_modules_lenses_or_learners(staff):
    """The same number of queries for 2 modules and 5 learners as for 14 modules and 45 learners."""
    make_cohort()
    make_cohort(extra_modules=12, extra_learners=40, prefix="big-")
    big = "/admin/dashboard/courses/big-memory/"
    assert for_course_dashboard(ContentItem.objects.get(slug="big-memory")).cohort == 45
    small = count_queries(staff, COURSE), count_queries(staff, COURSE + "lenses.csv")
    large = count_queries(staff, big), count_queries(staff, big + "lenses.csv")
    assert small == large == (8, 7)  # session, user, course, its modules, their steps, status counts, lens times
    # (+ the page's AI scores: 1 query)


def test_index_lists_courses_with_their_cohorts_in_constant_queries(staff):
    """The index shows each course and its learners; its query count does not grow."""
    make_cohort()
    html = staff.get("/admin/dashboard/").content.decode()
    assert "/admin/dashboard/courses/memory/" in html and '<td class="number">5</td>' in html
    assert '<td class="number">1</td>' in html  # the other course
    assert count_queries(staff, "/admin/dashboard/") == 4  # session, user, cohorts, courses
    make_cohort(extra_modules=5, extra_learners=10, prefix="big-")
    assert count_queries(staff, "/admin/dashboard/") == 4


def test_learner_page_shows_statuses_times_and_transcripts(staff):
    """A learner's modules with status, per-lens time, last activity, and their conversation in full."""
    cohort = make_cohort()
    html = staff.get(reverse("dashboard:learner-user", args=[cohort.ada.pk])).content.decode()
    assert "Learner: ada" in html and "First steps" in html and "Second thoughts" in html
    assert html.count("status-completed") == 2
    assert "3.3 min" in html  # 200 s on first lens 2, written under the claimed token
    assert "What is the forgetting curve?" in html and "How memory fades over time." in html
    html = staff.get(reverse("dashboard:learner-user", args=[cohort.bea.pk])).content.decode()
    assert "status-in_progress" in html and "status-not_started" in html


def test_learner_page_queries_do_not_grow(staff):
    """The learner page costs the same queries with 1 course module or 13 and many rows."""
    cohort = make_cohort()
    url = reverse("dashboard:learner-user", args=[cohort.ada.pk])
    small = count_queries(staff, url)
    modules = [make_module(lenses=3, slug=f"more-{n}") for n in range(12)]
    make_course(units=[modules[:6], modules[6:]], slug="more")
    for module in modules:
        for lens in lenses_of(module):
            row(user=cohort.ada, item=lens, seconds=5)
        session = ChatSession.objects.create(user=cohort.ada, content_id=module.pk, content_type="module")
        ChatMessage.objects.create(session=session, role="user", text="Hello")
    # session, user, account, rows, course modules, steps, chats, messages, answers, titles, data records
    assert count_queries(staff, url) == small == 12  # + the answers' AI scores (1 query)


def test_a_claimed_token_page_redirects_to_its_account(staff):
    """A token that an account claimed is that account's data: its page is the account's page."""
    cohort = make_cohort()
    token = cohort.ada.claimed_tokens.get().token
    response = staff.get(reverse("dashboard:learner-token", args=[token]))
    assert response.status_code == 302 and response["Location"] == f"/admin/dashboard/learners/user/{cohort.ada.pk}/"


def test_an_anonymous_learners_page_lists_their_rows(staff):
    """An anonymous learner's page shows their progress, named by token."""
    cohort = make_cohort()
    optional = lenses_of(cohort.first)[2]
    token = UserContentProgress.objects.get(content_id=optional.pk).session_token
    html = staff.get(reverse("dashboard:learner-token", args=[token])).content.decode()
    assert f"anonymous learner {str(token)[:8]}" in html and "status-not_started" in html


def test_staff_export_downloads_the_learners_data_and_records_it(staff):
    """POSTing export returns the learner's JSON as an attachment and writes an export record; GET is refused."""
    cohort = make_cohort()
    url = reverse("dashboard:export-user", args=[cohort.ada.pk])
    assert staff.get(url).status_code == 405
    response = staff.post(url)
    assert response["Content-Disposition"] == f'attachment; filename="learner-data-user-{cohort.ada.pk}.json"'
    document = json.loads(response.content)
    assert document["learner"]["username"] == "ada" and len(document["progress"]) == 3
    record = LearnerDataAudit.objects.get()
    assert (record.action, record.learner, record.actor_username) == ("export", f"user {cohort.ada.pk}", "staffer")


def test_staff_erase_asks_for_confirmation_then_erases_and_records(staff):
    """The erase page shows what will go; without the box ticked nothing happens; with it all goes."""
    cohort = make_cohort()
    url = reverse("dashboard:erase-user", args=[cohort.bea.pk])
    html = staff.get(url).content.decode()
    assert "2 progress rows" in html and "the account <strong>bea</strong>" in html
    assert "Tick the box" in staff.post(url, {}).content.decode()
    assert UserContentProgress.objects.filter(user=cohort.bea).exists()
    response = staff.post(url, {"confirm": "on"})
    assert response.status_code == 302
    assert not UserContentProgress.objects.filter(user_id=cohort.bea.pk).exists()
    assert not type(cohort.bea).objects.filter(pk=cohort.bea.pk).exists()
    assert UserContentProgress.objects.filter(user=cohort.ada).count() == 2  # others untouched
    record = LearnerDataAudit.objects.get()
    assert (record.action, record.actor_username, record.counts["progress_rows"]) == ("erase", "staffer", 2)


def test_staff_can_erase_an_anonymous_learner(staff):
    """An anonymous learner's token data is erased from its page."""
    token = uuid.uuid4()
    ProgressFactory.create_batch(2, session_token=token)
    response = staff.post(reverse("dashboard:erase-token", args=[token]), {"confirm": "on"})
    assert response.status_code == 302 and not UserContentProgress.objects.exists()


def test_staff_cannot_erase_themselves_here(client):
    """The erase page refuses the staff member's own account."""
    me = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(me)
    assert client.get(reverse("dashboard:erase-user", args=[me.pk])).status_code == 403


@pytest.mark.parametrize(
    "url",
    [
        "/admin/dashboard/",
        COURSE,
        COURSE + "modules.csv",
        "/admin/dashboard/learners/user/1/",
        f"/admin/dashboard/learners/token/{uuid.uuid4()}/",
    ],
)
def test_learners_get_the_login_page(client, url):
    """An anonymous visitor or a logged-in learner is sent to the admin login; nothing is shown."""
    make_cohort()
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    client.force_login(UserFactory(username="learner"))
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_staff_without_the_progress_permission_get_403(client):
    """Staff who may not view progress rows are refused the dashboard and the data actions."""
    make_cohort()
    client.force_login(UserFactory(is_staff=True))
    assert client.get(COURSE).status_code == 403
    learner = UserFactory()
    assert client.post(reverse("dashboard:export-user", args=[learner.pk])).status_code == 403
    assert client.post(reverse("dashboard:erase-user", args=[learner.pk]), {"confirm": "on"}).status_code == 403
    assert type(learner).objects.filter(pk=learner.pk).exists()


def test_staff_with_only_the_view_permission_see_the_dashboard(client):
    """The view permission on progress rows is enough to read the dashboard."""
    make_cohort()
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_usercontentprogress"))
    client.force_login(viewer)
    assert client.get(COURSE).status_code == 200
    assert "Progress dashboard" in client.get("/admin/").content.decode()


def test_admin_links_to_the_dashboard_and_learner_pages(staff):
    """The admin home links the dashboard; progress rows and users link each learner's page."""
    cohort = make_cohort()
    assert 'href="/admin/dashboard/"' in staff.get("/admin/").content.decode()
    learner_url = f"/admin/dashboard/learners/user/{cohort.ada.pk}/"
    assert learner_url in staff.get("/admin/progress/usercontentprogress/").content.decode()
    row = UserContentProgress.objects.filter(user=cohort.ada).first()
    assert learner_url in staff.get(f"/admin/progress/usercontentprogress/{row.pk}/change/").content.decode()
    assert learner_url in staff.get("/admin/auth/user/").content.decode()


def test_user_admin_actions_export_and_lead_to_erase(staff):
    """Selecting accounts exports their data (recorded); erasing goes to the confirmation page."""
    cohort = make_cohort()
    response = staff.post(
        "/admin/auth/user/", {"action": "export_learner_data", "_selected_action": [cohort.ada.pk, cohort.bea.pk]}
    )
    document = json.loads(response.content)
    assert [d["learner"]["username"] for d in document["learners"]] == ["ada", "bea"]
    assert LearnerDataAudit.objects.filter(action="export").count() == 2
    response = staff.post("/admin/auth/user/", {"action": "erase_learner_data", "_selected_action": [cohort.bea.pk]})
    assert response["Location"] == reverse("dashboard:erase-user", args=[cohort.bea.pk])
