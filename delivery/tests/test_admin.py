"""The content status page in admin: the syncs, each one's findings by file, and "Sync now"."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from delivery.models import ContentSync, SyncRequest
from delivery.tests.factories import ContentSyncFactory

pytestmark = pytest.mark.django_db
LIST = "/admin/delivery/contentsync/"


@pytest.fixture
def staff_client(client):
    client.force_login(get_user_model().objects.create_superuser("staffer", "s@example.org", "pw-long-enough"))
    return client


def test_the_list_shows_every_sync_newest_first_with_the_repository(staff_client, git_settings):
    """Each sync's commit, author, message, duration, status and counts, newest first; the configured
    repository and branch above them; the query count does not grow with the number of syncs."""
    older = ContentSyncFactory(commit_message="Older commit")
    newer = ContentSyncFactory(commit_message="Newer commit", status=ContentSync.Status.SUCCEEDED)
    response = staff_client.get(LIST)
    page = response.content.decode()
    assert response.status_code == 200
    assert page.index(newer.commit_sha[:10]) < page.index(older.commit_sha[:10])
    for text in (
        "Ada Author",
        "Newer commit",
        "3.0 s",
        "succeeded with errors",
        git_settings.CONTENT_GIT_URL,
        "Sync now",
    ):
        assert text in page
    with CaptureQueriesContext(connection) as one_page:
        staff_client.get(LIST)
    ContentSyncFactory.create_batch(10)
    with CaptureQueriesContext(connection) as more:
        staff_client.get(LIST)
    assert len(one_page) == len(more) == 6


def test_a_sync_opens_its_findings_grouped_by_file_with_line_and_suggestion(staff_client):
    """The sync's page lists each file once, its findings by line, with severity and suggestion."""
    sync = ContentSyncFactory()
    page = staff_client.get(f"{LIST}{sync.pk}/change/").content.decode()
    assert page.count('<section class="file"') == 3
    broken = page[page.index("Lenses/Broken.md") :]
    assert broken.index("title is empty") < broken.index("unknown segment type")  # line 2 before line 7
    assert "did you mean `#### Video`?" in page
    assert "Retitle the sleep lens" in page and "c0ffee" in page


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("?severity=error", ["unknown segment type", "missing required field"], ["title is empty", "skipped"]),
        ("?state=draft", ["missing required field"], ["unknown segment type", "skipped"]),
        ("?state=published&severity=error", ["unknown segment type"], ["missing required field", "title is empty"]),
    ],
)
def test_findings_filter_by_severity_and_by_draft_or_published(staff_client, query, shown, hidden):
    """?severity= keeps one severity; ?state=draft|published keeps the findings of drafts or the rest."""
    sync = ContentSyncFactory()
    page = staff_client.get(f"{LIST}{sync.pk}/change/{query}").content.decode()
    assert all(text in page for text in shown)
    assert not any(text in page for text in hidden)


def test_latest_findings_open_the_newest_finished_sync(staff_client):
    """ "Latest findings" opens the newest sync that finished (not one still running)."""
    done = ContentSyncFactory()
    ContentSyncFactory(status=ContentSync.Status.RUNNING, finished_at=None)
    response = staff_client.get(f"{LIST}latest/?severity=error")
    assert response.status_code == 302
    assert response["Location"] == f"{LIST}{done.pk}/change/?severity=error"


def test_sync_now_queues_one_job(staff_client, git_settings):
    """ "Sync now" records a staff request and queues the sync job; pressing it twice queues one job."""
    response = staff_client.post(f"{LIST}sync-now/", follow=True)
    assert "Sync of main queued" in response.content.decode()
    assert "No worker is running" in response.content.decode()
    staff_client.post(f"{LIST}sync-now/")
    assert list(SyncRequest.objects.values_list("origin", "requested_by")) == [("staff", "staffer")] * 2
    assert DBTaskResult.objects.filter(status="READY").count() == 1


def test_sync_now_without_a_repository_says_what_to_set(staff_client, settings):
    """With no CONTENT_GIT_URL, "Sync now" queues nothing and says to set it."""
    settings.CONTENT_GIT_URL = ""
    response = staff_client.post(f"{LIST}sync-now/", follow=True)
    assert "set CONTENT_GIT_URL" in response.content.decode()
    assert not DBTaskResult.objects.exists()


def test_sync_now_is_post_only_and_needs_the_permission(client, staff_client, git_settings):
    """GET is 405; staff who may view syncs but not request them get 403 and queue nothing."""
    assert staff_client.get(f"{LIST}sync-now/").status_code == 405
    viewer = get_user_model().objects.create_user("viewer", password="pw-long-enough", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_contentsync"))
    client.force_login(viewer)
    assert client.get(LIST).status_code == 200
    assert "Sync now" not in client.get(LIST).content.decode()
    assert client.post(f"{LIST}sync-now/").status_code == 403
    assert not DBTaskResult.objects.exists()


def test_a_learner_gets_the_admin_login(client):
    """A logged-in learner (not staff) asking for the status page is sent to the admin login."""
    client.force_login(get_user_model().objects.create_user("learner", password="pw-long-enough"))
    sync = ContentSyncFactory()
    for url in (LIST, f"{LIST}{sync.pk}/change/", f"{LIST}latest/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert client.post(f"{LIST}sync-now/").status_code == 302
    assert not SyncRequest.objects.exists()


def test_the_findings_page_makes_a_fixed_number_of_queries(staff_client):
    """A sync's findings page: the same queries however many findings and requests it has."""
    sync = ContentSyncFactory()
    with CaptureQueriesContext(connection) as few:
        staff_client.get(f"{LIST}{sync.pk}/change/")
    big = ContentSyncFactory(report={**sync.report, "diagnostics": sync.report["diagnostics"] * 50})
    for n in range(5):
        SyncRequest.objects.create(origin="github", delivery_id=f"d{n}", sync=big)
    with CaptureQueriesContext(connection) as many:
        staff_client.get(f"{LIST}{big.pk}/change/")
    assert len(few) == len(many) == 4
