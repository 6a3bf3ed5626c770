"""`POST /hooks/content`: what each delivery is answered, and what it queues."""

import json

import pytest
from django_tasks_db.models import DBTaskResult
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from content_loader.models import ContentItem
from delivery.models import ContentSync, SyncRequest
from delivery.tests.hooks import github_push, gitlab_push
from delivery.tests.repos import SLEEP_LENS_ID
from jobs.worker import run_queued_jobs

pytestmark = pytest.mark.django_db


def queued_jobs() -> int:
    return DBTaskResult.objects.filter(status="READY").count()


def test_a_github_push_to_the_branch_is_accepted_and_queues_one_sync_job(client, git_settings, caplog):
    """A signed push to main: 202 with `queued`, one request recorded, one job queued, no fetch yet; the
    delivery id is logged."""
    with caplog.at_level("INFO", logger="delivery.webhook"):
        response = github_push(client, delivery="d-1")
    assert [r.delivery_id for r in caplog.records if r.name == "delivery.webhook"] == ["d-1"]
    assert response.status_code == 202
    assert response.json()["queued"] is True
    request = SyncRequest.objects.get()
    assert (request.origin, request.delivery_id, request.ref, request.after_sha, request.requested_by) == (
        "github",
        "d-1",
        "refs/heads/main",
        "a" * 40,
        "ada",
    )
    assert queued_jobs() == 1
    assert not ContentSync.objects.exists()  # the answer does not wait for git
    assert not git_settings.CONTENT_GIT_CACHE_DIR.exists()


def test_a_github_push_sent_as_a_form_is_accepted(client, git_settings):
    """GitHub's default content type (application/x-www-form-urlencoded, JSON in `payload`) works too."""
    response = github_push(client, form=True, after="f" * 40)
    assert response.status_code == 202
    assert SyncRequest.objects.get().after_sha == "f" * 40
    signed_other_body = github_push(client, form=True, body=b'{"no": "ref"}')
    assert signed_other_body.status_code == 400


def test_a_gitlab_push_to_the_branch_is_accepted(client, git_settings):
    """GitLab's Push Hook with the right X-Gitlab-Token: 202 and a queued job."""
    response = gitlab_push(client)
    assert response.status_code == 202
    assert SyncRequest.objects.get().origin == "gitlab"
    assert queued_jobs() == 1


def test_ping_gets_200(client, git_settings):
    """GitHub's ping (sent when the webhook is created): 200, nothing queued."""
    response = github_push(client, event="ping", body=b'{"zen": "Keep it logically awesome."}')
    assert response.status_code == 200
    assert queued_jobs() == 0


def test_a_push_to_another_branch_queues_nothing(client, git_settings):
    """A push to another branch: 202 with the reason, no request, no job."""
    response = github_push(client, ref="refs/heads/feature")
    assert response.status_code == 202
    assert response.json() == {"queued": False, "reason": "refs/heads/feature is not the content branch (main)"}
    assert not SyncRequest.objects.exists() and queued_jobs() == 0


@pytest.mark.parametrize(
    ("send", "reason"),
    [
        (lambda c: github_push(c, secret=None), "X-Hub-Signature-256 header is missing"),
        (lambda c: github_push(c, secret="wrong"), "does not match"),
        (lambda c: gitlab_push(c, token=None), "X-Gitlab-Token"),
        (lambda c: gitlab_push(c, token="wrong"), "X-Gitlab-Token"),
    ],
)
def test_a_bad_or_missing_signature_is_403_and_queues_nothing(client, git_settings, send, reason, caplog):
    """Unsigned, wrongly signed, or a wrong GitLab token: 403 with a JSON reason; nothing recorded."""
    with caplog.at_level("INFO", logger="delivery.webhook"):
        response = send(client)
    assert [r.status for r in caplog.records if r.name == "delivery.webhook"] == [403]  # refusals are logged
    assert response.status_code == 403
    assert reason in response.json()["error"]
    assert not SyncRequest.objects.exists() and queued_jobs() == 0


def test_no_secret_configured_is_404(client, git_settings):
    """Without CONTENT_WEBHOOK_SECRET there is no webhook: 404, even for a well-formed push."""
    git_settings.CONTENT_WEBHOOK_SECRET = ""
    response = github_push(client)
    assert response.status_code == 404
    assert "CONTENT_WEBHOOK_SECRET" in response.json()["error"]
    assert queued_jobs() == 0


def test_a_body_over_one_mebibyte_is_413(client, git_settings):
    """A body over 1 MiB: 413, refused before the signature is even computed."""
    body = json.dumps({"ref": "refs/heads/main", "padding": "x" * (1024 * 1024)}).encode()
    response = github_push(client, body=body)
    assert response.status_code == 413
    assert "1048576 bytes" in response.json()["error"]
    assert queued_jobs() == 0


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"after": "abc"}', "no `ref`"),
        (b'{"ref": 7}', "no `ref`"),
        (b'{"ref": "refs/heads/main", "after": ["x"]}', "not a commit id"),
        (b'{"ref": "refs/heads/main", "pusher": "not an object"}', None),
        (b"\xff\xfe", "not JSON"),
    ],
)
def test_a_malformed_push_is_400_with_a_json_reason(client, git_settings, body, reason):
    """A signed push whose body is not a push: 400 with the reason (never a 500); nothing queued."""
    response = github_push(client, body=body)
    if reason is None:  # odd but harmless fields are tolerated
        assert response.status_code == 202
        return
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert queued_jobs() == 0


def test_no_provider_header_is_403(client, git_settings):
    """A POST that is neither GitHub's nor GitLab's carries no signature: 403 saying what was expected."""
    response = client.post("/hooks/content", b"{}", content_type="application/json")
    assert response.status_code == 403
    assert "X-GitHub-Event" in response.json()["error"]


def test_only_post_is_allowed(client, git_settings):
    """GET on the webhook: 405."""
    assert client.get("/hooks/content").status_code == 405


def test_a_repeated_delivery_queues_nothing_new(client, git_settings):
    """GitHub's "Redeliver" (the same delivery id): 202, no second request, no second job, even after the
    first job ran."""
    assert github_push(client, delivery="same-id").json()["queued"] is True
    again = github_push(client, delivery="same-id")
    assert again.status_code == 202
    assert again.json()["queued"] is False
    assert SyncRequest.objects.count() == 1 and queued_jobs() == 1
    run_queued_jobs()
    assert github_push(client, delivery="same-id").json()["queued"] is False
    assert queued_jobs() == 0
    assert ContentSync.objects.count() == 1


def test_two_pushes_in_a_row_make_one_sync_of_the_newest_commit(client, git_settings, content_repo):
    """Two pushes before the worker runs: one job queued, one ContentSync, of the second commit."""
    first = content_repo.retitle_sleep_lens("First retitle")
    github_push(client, after=first)
    second = content_repo.retitle_sleep_lens("Second retitle")
    github_push(client, after=second)
    assert queued_jobs() == 1
    run_queued_jobs()
    sync = ContentSync.objects.get()
    assert sync.commit_sha == second
    assert sync.status == "succeeded"
    assert ContentItem.objects.get(id=SLEEP_LENS_ID).title == "Second retitle"
    assert set(SyncRequest.objects.values_list("sync", flat=True)) == {sync.pk}
    assert "2 request(s)" in sync.trigger


def test_a_push_while_a_sync_job_runs_is_synced_once_afterwards(client, git_settings, content_repo):
    """A push after the waiting job was taken queues a new job, which syncs the newer commit once."""
    github_push(client)
    run_queued_jobs()
    newer = content_repo.retitle_sleep_lens("Newer")
    github_push(client, after=newer)
    github_push(client, after=newer)  # a second delivery while that job waits: nothing more queued
    assert queued_jobs() == 1
    run_queued_jobs()
    assert list(ContentSync.objects.order_by("pk").values_list("commit_sha", flat=True))[-1] == newer
    assert ContentSync.objects.count() == 2


def test_a_webhook_sync_of_a_deleted_branch_fails_for_good_and_changes_nothing(client, git_settings, content_repo):
    """The configured branch does not exist: the job fails at once (no retry), the row says why."""
    github_push(client)
    run_queued_jobs()
    titles = dict(ContentItem.objects.values_list("id", "title"))
    git_settings.CONTENT_GIT_BRANCH = "gone"
    github_push(client, ref="refs/heads/gone")
    run_queued_jobs()
    failed = ContentSync.objects.latest()
    assert failed.status == "failed" and "'gone'" in failed.failure
    job = DBTaskResult.objects.order_by("-enqueued_at").first()
    assert job.status == "FAILED" and len(job.worker_ids) == 1
    assert dict(ContentItem.objects.values_list("id", "title")) == titles
    assert SyncRequest.objects.filter(sync=failed).count() == 1  # answered, by the failure


def test_an_unreachable_repository_is_retried(client, git_settings, tmp_path):
    """The repository cannot be reached: the row FAILED, the job back in the queue for a retry, and the
    request still pending so the retry syncs it."""
    git_settings.CONTENT_GIT_URL = f"file://{tmp_path}/nowhere.git"
    github_push(client)
    run_queued_jobs()
    job = DBTaskResult.objects.get()
    assert job.status == "READY" and job.run_after > job.enqueued_at
    assert ContentSync.objects.get().status == "failed"
    assert SyncRequest.objects.get().sync is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
pushes = st.fixed_dictionaries(
    {},
    optional={
        "ref": st.one_of(json_values, st.just("refs/heads/main")),
        "after": json_values,
        "pusher": json_values,
        "user_username": json_values,
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.one_of(pushes, json_values), event=st.sampled_from(["push", "ping", "issues", ""]))
def test_no_signed_delivery_gets_a_500(client, git_settings, payload, event):
    """Whatever JSON a correctly signed GitHub delivery carries, the answer is 200, 202 or 400, never 5xx."""
    response = github_push(client, event=event, body=json.dumps(payload).encode())
    assert response.status_code in {200, 202, 400}, response.content
    assert "error" in response.json() or response.status_code != 400
