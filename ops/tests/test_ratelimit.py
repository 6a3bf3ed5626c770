"""ops.ratelimit: per-identity limits that hold under parallel requests and outlive the learner's data."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from ops import ratelimit
from ops.models import RateLimitHit


@pytest.mark.django_db
def test_take_counts_up_to_the_limit_then_refuses_with_retry_after():
    """Three actions pass a limit of 3 per minute; the fourth is refused, not counted, with Retry-After."""
    for _ in range(3):
        ratelimit.take(scope="test", identity="user 1", limit=3, window=60)
    with pytest.raises(ratelimit.RateLimited) as refused:
        ratelimit.take(scope="test", identity="user 1", limit=3, window=60)
    assert 58 <= refused.value.retry_after <= 60 and refused.value.wait.endswith("seconds")
    assert RateLimitHit.objects.filter(identity="user 1").count() == 3
    ratelimit.take(scope="test", identity="user 2", limit=3, window=60)  # others are counted apart
    ratelimit.take(scope="other", identity="user 1", limit=3, window=60)  # and so are other scopes


@pytest.mark.django_db
def test_actions_leave_the_window_and_expired_rows_are_removed():
    """An action older than the window stops counting; a later take deletes expired rows of anyone."""
    for _ in range(2):
        ratelimit.take(scope="test", identity="user 1", limit=2, window=60)
    RateLimitHit.objects.update(at=timezone.now() - timedelta(seconds=61), expires_at=timezone.now())
    ratelimit.take(scope="test", identity="user 1", limit=2, window=60)
    ratelimit.take(scope="test", identity="user 9", limit=2, window=60)
    assert RateLimitHit.objects.filter(identity="user 1").count() == 1


@pytest.mark.django_db
def test_move_hands_the_count_to_the_next_identity():
    """A claimed token's (or an erased learner's) actions count for the identity that follows it."""
    for _ in range(2):
        ratelimit.take(scope="test", identity="token a", limit=2, window=60)
    assert ratelimit.move(old_identity="token a", new_identity="user 5") == 2
    with pytest.raises(ratelimit.RateLimited):
        ratelimit.take(scope="test", identity="user 5", limit=2, window=60)


@pytest.mark.django_db(transaction=True)
def test_parallel_takes_never_pass_the_limit():
    """60 requests at once, each on its own database connection, against a limit of 20: exactly 20 pass."""
    assert connection.vendor == "postgresql"
    start = threading.Barrier(60)
    passed, refused = [], []

    def one() -> None:
        try:
            start.wait()
            ratelimit.take(scope="test", identity="user 1", limit=20, window=300)
            passed.append(1)
        except ratelimit.RateLimited:
            refused.append(1)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=one) for _ in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (len(passed), len(refused)) == (20, 40)
    assert RateLimitHit.objects.count() == 20
