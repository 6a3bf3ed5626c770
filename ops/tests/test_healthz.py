"""/healthz: what a load balancer asks before sending a server traffic.

Its 503 while PostgreSQL is down is pinned against a real paused cluster in test_outage.py.
"""

import pytest


@pytest.mark.django_db
def test_healthz_is_ok_when_the_database_answers(client):
    """With the database reachable, /healthz answers 200 {"status": "ok"}, never cached."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_answers_head_and_refuses_writes(client):
    """HEAD works (some load balancers use it); POST is refused with 405."""
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
def test_healthz_sets_no_cookies(client):
    """A probe every few seconds must not create sessions or learner cookies."""
    assert not client.get("/healthz").cookies
