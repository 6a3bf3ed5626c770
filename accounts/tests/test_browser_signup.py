"""Sign-up in a real browser: an email address another account has is not revealed as taken."""

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_signup_with_a_taken_email_looks_like_any_sign_up(live_server, browser_context_factory, mailoutbox):
    """At 1280 and 390 px wide, a taken address signs up as a free one would: logged in, the same welcome."""
    get_user_model().objects.create_user("ada", email="ada@example.org")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        page = browser_context_factory(viewport={"width": width, "height": 900}).new_page()
        page.goto(f"{live_server.url}/accounts/signup/")
        page.fill("input[name=username]", f"eve{width}")
        page.fill("input[name=email]", "ADA@example.org")
        page.fill("input[name=password1]", "a-long-password-1")
        page.fill("input[name=password2]", "a-long-password-1")
        page.click("form.stacked-form button[type=submit]")
        page.wait_for_load_state()
        text = page.inner_text("body")
        assert f"Welcome, eve{width}: your account is ready. We sent a message to ADA@example.org." in text
        assert "already" not in text
        page.screenshot(path=str(SCREENSHOTS / f"signup-email-taken-{width}.png"), full_page=True)
    assert get_user_model().objects.filter(email="").count() == 2
