"""The webhook through a real `manage.py worker` process, and a worker killed in the middle of a sync."""

import os
import signal

import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult

from content_loader.models import ContentItem
from delivery.models import ContentSync, SyncRequest
from delivery.tests.hooks import github_push
from delivery.tests.repos import SLEEP_LENS_ID, ContentRepo
from devtools.corpus import real_vault
from jobs.tests.helpers import start_worker, stop, wait_for, worker_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _env(settings) -> dict[str, str]:
    return worker_env(
        CONTENT_GIT_URL=settings.CONTENT_GIT_URL,
        CONTENT_GIT_BRANCH=settings.CONTENT_GIT_BRANCH,
        CONTENT_GIT_CACHE_DIR=str(settings.CONTENT_GIT_CACHE_DIR),
        CONTENT_SYNC_HEARTBEAT_SECONDS="0.3",
        CONTENT_SYNC_STALE_SECONDS="2",
    )


def test_a_pushed_retitle_is_synced_through_the_webhook_and_the_worker(git_settings, content_repo, tmp_path):
    """Push, the webhook answers 202, a worker process fetches and syncs: the lens has its new title."""
    client = Client()
    github_push(client, after=content_repo.commit("First"))
    worker = start_worker(env=_env(git_settings), log=tmp_path / "worker.log")
    try:
        wait_for(lambda: ContentSync.objects.filter(status="succeeded").exists(), what="the first sync")
        sha = content_repo.retitle_sleep_lens("Sleep, retitled by a push")
        assert github_push(client, after=sha).status_code == 202
        wait_for(
            lambda: ContentItem.objects.filter(id=SLEEP_LENS_ID, title="Sleep, retitled by a push").exists(),
            what="the retitle to be synced",
        )
    finally:
        stop(worker)
    latest = ContentSync.objects.latest()
    assert (latest.commit_sha, latest.status, latest.changed) == (sha, "succeeded", 1)
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}


def test_a_worker_killed_mid_sync_leaves_the_job_to_the_next_worker(settings, tmp_path):
    """SIGKILL the worker while its sync runs: the next worker marks that sync interrupted, runs the job
    again and syncs the commit; the job is SUCCESSFUL after two attempts."""
    vault = real_vault()
    if vault is None:
        pytest.skip("the real vault (../shared/corpora/lens-edu-relay) is not here: it makes a sync long enough")
    repo = ContentRepo(tmp_path / "repos", vault=vault)
    settings.CONTENT_GIT_URL = repo.url
    settings.CONTENT_GIT_BRANCH = "main"
    settings.CONTENT_GIT_CACHE_DIR = tmp_path / "cache"
    settings.CONTENT_WEBHOOK_SECRET = "s3cret-for-tests"
    head = repo.commit("Nothing new")
    github_push(Client(), after=head)
    first = start_worker("--worker-id", "first", env=_env(settings), log=tmp_path / "first.log")
    try:
        wait_for(lambda: ContentSync.objects.filter(status="running").exists(), what="the sync to start")
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    finally:
        stop(first)
    assert ContentSync.objects.get().status == "running"  # nobody finished it
    second = start_worker("--worker-id", "second", env=_env(settings), log=tmp_path / "second.log")
    try:
        wait_for(
            lambda: ContentSync.objects.filter(status__in=["succeeded", "succeeded_with_errors"]).exists(),
            timeout=120,
            what="the sync to complete on the second worker",
        )
    finally:
        stop(second)
    interrupted, done = ContentSync.objects.order_by("pk")
    assert interrupted.status == "failed" and "interrupted" in interrupted.failure
    assert done.commit_sha == head
    assert ContentItem.objects.exists()
    job = DBTaskResult.objects.get()
    assert job.status == "SUCCESSFUL" and job.worker_ids == ["first", "second"]
    assert set(SyncRequest.objects.values_list("sync", flat=True)) == {done.pk}
