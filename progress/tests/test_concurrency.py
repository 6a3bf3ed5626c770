"""Real concurrency on PostgreSQL: threads, each with its own database connection, started together.

No IntegrityError escapes and nothing is lost: parallel completions, two tabs heartbeating, a claim
racing heartbeats and completions, and two logins of the same anonymous token at once.
"""

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import UserFactory
from content_loader.tests.factories import LensFactory, make_module
from progress.identity import Learner
from progress.models import UserContentProgress
from progress.services import TokenClaimed, claim_progress, complete_content, record_heartbeat
from progress.tests.factories import ProgressFactory, account, lenses_of, let_time_pass

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(count: int, work) -> list:
    """Run work(i) for i in range(count) in threads released at the same moment; re-raise any error."""
    barrier = threading.Barrier(count)

    def worker(i):
        try:
            barrier.wait()
            return work(i)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(worker, i) for i in range(count)]
        return [future.result() for future in futures]


def test_twenty_parallel_completions_leave_one_row_and_one_first_completion():
    """20 concurrent completions of the same lens: one row, no error, exactly one call completed it."""
    learner = Learner(session_token=uuid.uuid4())
    module = make_module(lenses=1)
    lens = lenses_of(module)[0]

    results = run_together(
        20,
        lambda _i: complete_content(learner=learner, content_id=lens.pk, content_type="lens", module_slug=module.slug),
    )

    assert UserContentProgress.objects.filter(content_id=lens.pk).count() == 1
    assert sum(r.newly_completed for r in results) == 1
    assert sum(r.module_newly_completed for r in results) == 1
    assert len({r.completed_at for r in results}) == 1
    assert UserContentProgress.objects.filter(content_id=module.pk).count() == 1


def test_parallel_completions_of_the_last_two_lenses_complete_the_module_once():
    """Two tabs completing the module's last two lenses at once: the module row is completed, reported once."""
    learner = account()
    module = make_module(lenses=2)
    lenses = lenses_of(module)

    results = run_together(
        2,
        lambda i: complete_content(
            learner=learner, content_id=lenses[i].pk, content_type="lens", module_slug=module.slug
        ),
    )

    assert sum(r.module_newly_completed for r in results) == 1
    assert UserContentProgress.objects.get(content_id=module.pk).is_completed


def test_two_tabs_heartbeating_never_credit_more_than_wall_clock_plus_slack():
    """Two tabs each claiming 1 s every 0.25 s for 2.5 s are credited at most wall-clock time plus the slack."""
    learner = Learner(session_token=uuid.uuid4())
    lens = LensFactory()
    started = time.monotonic()

    def tab(_i):
        sent = 0
        while time.monotonic() - started < 2.5:
            record_heartbeat(learner=learner, content_id=lens.pk, time_delta_s=1)
            sent += 1
            time.sleep(0.25)
        return sent

    sent = sum(run_together(2, tab))
    wall = time.monotonic() - started
    credited = UserContentProgress.objects.get(content_id=lens.pk).total_time_spent_s
    assert sent >= 16  # the tabs claimed about twice the wall-clock time
    assert credited <= 1 + wall + 5  # the first heartbeat, then wall-clock time and one slack


def test_forged_heartbeat_flood_gains_at_most_the_cap_plus_wall_clock():
    """Eight threads flooding 3600-second deltas gain the cap once, then only wall-clock time and slack."""
    learner = Learner(session_token=uuid.uuid4())
    lens = LensFactory()
    started = time.monotonic()

    def flood(_i):
        for _ in range(25):
            record_heartbeat(learner=learner, content_id=lens.pk, time_delta_s=3600)

    run_together(8, flood)
    wall = time.monotonic() - started
    credited = UserContentProgress.objects.get(content_id=lens.pk).total_time_spent_s
    assert credited <= 120 + wall + 5


def test_claim_racing_heartbeats_and_completions_loses_nothing():
    """Heartbeats and completions under a token while it is claimed: each is either refused (the token is
    dead) or acknowledged, and every acknowledged second and completion reaches the account."""
    user = UserFactory()
    token = uuid.uuid4()
    anonymous = Learner(session_token=token)
    shared = LensFactory()  # both the account and the token already have a row for it
    an_hour_ago = timezone.now() - timedelta(hours=1)  # the rows' time fits in the span they were earned in
    ProgressFactory(
        user=user,
        session_token=None,
        content_id=shared.pk,
        total_time_spent_s=100,
        started_at=an_hour_ago,
        last_heartbeat_at=timezone.now(),
    )
    ProgressFactory(
        session_token=token,
        content_id=shared.pk,
        total_time_spent_s=50,
        started_at=an_hour_ago,
        last_heartbeat_at=timezone.now(),
    )
    heartbeat_ids = [LensFactory().pk for _ in range(60)]
    completion_ids = [LensFactory().pk for _ in range(30)]
    credited, completed, refused = [], [], []

    def work(i):
        if i == 0:
            time.sleep(0.02)  # let some writes land first
            return claim_progress(user=user, session_token=token)
        for content_id in heartbeat_ids[i - 1 :: 3]:
            try:
                credited.append(
                    (content_id, record_heartbeat(learner=anonymous, content_id=content_id, time_delta_s=10))
                )
            except TokenClaimed:
                refused.append(content_id)
        for content_id in completion_ids[i - 1 :: 3]:
            try:
                complete_content(learner=anonymous, content_id=content_id, content_type="lens")
                completed.append(content_id)
            except TokenClaimed:
                refused.append(content_id)
        return None

    run_together(4, work)

    mine = UserContentProgress.objects.owned_by(Learner(user_id=user.pk))
    assert len(credited) + len(completed) + len(refused) == 90
    by_id = dict(mine.values_list("content_id", "total_time_spent_s"))
    assert sum(by_id.get(content_id, 0) for content_id, _ in credited) == sum(seconds for _, seconds in credited)
    assert mine.filter(content_id__in=completed, completed_at__isnull=False).count() == len(completed)
    assert mine.get(content_id=shared.pk).total_time_spent_s == 150

    # The next login moves whatever landed under the old token while the claim committed.
    claim_progress(user=user, session_token=uuid.uuid4())
    assert not UserContentProgress.objects.filter(session_token=token).exists()
    # After the claim the token can do nothing.
    with pytest.raises(TokenClaimed):
        record_heartbeat(learner=anonymous, content_id=shared.pk, time_delta_s=10)
    with pytest.raises(TokenClaimed):
        complete_content(learner=anonymous, content_id=shared.pk, content_type="lens")


@pytest.mark.urls("progress.tests.urls")
def test_two_simultaneous_logins_with_the_same_token_claim_once():
    """Two logins of one browser's token at once (two tabs): no error, rows merged once, nothing doubled."""
    user = UserFactory(username="twice")
    token = uuid.uuid4()
    lenses = [LensFactory() for _ in range(5)]
    for lens in lenses:
        record_heartbeat(learner=Learner(session_token=token), content_id=lens.pk, time_delta_s=40)
        complete_content(learner=Learner(session_token=token), content_id=lens.pk, content_type="lens")
        let_time_pass(Learner(session_token=token), 40)
    ProgressFactory(user=user, session_token=None, content_id=lenses[0].pk, total_time_spent_s=7)

    def login(_i):
        client = Client()
        client.cookies["learner_token"] = str(token)
        response = client.post("/accounts/login/", {"username": "twice", "password": "correct horse battery staple"})
        return response.status_code

    statuses = run_together(2, login)

    assert statuses == [302, 302]
    rows = UserContentProgress.objects.filter(user=user)
    assert rows.count() == 5 and not UserContentProgress.objects.filter(session_token=token).exists()
    assert sum(rows.values_list("total_time_spent_s", flat=True)) == 5 * 40 + 7
    assert rows.filter(completed_at__isnull=False).count() == 5


def test_two_simultaneous_claims_of_the_same_token_report_the_rows_once():
    """At the service level, of two claims at once one takes every row and the other none."""
    user = UserFactory()
    token = uuid.uuid4()
    for _ in range(10):
        ProgressFactory(session_token=token, total_time_spent_s=3)
    receipts = run_together(2, lambda _i: claim_progress(user=user, session_token=token))
    assert sorted(r.progress_records_claimed for r in receipts) == [0, 10]
    assert sum(UserContentProgress.objects.filter(user=user).values_list("total_time_spent_s", flat=True)) == 30
