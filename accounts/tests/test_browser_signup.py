"""Sign-up in a real browser: an email address another account has is refused with a readable message."""

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_signup_with_a_taken_email_shows_the_error_next_to_the_field(live_server, browser_context_factory):
    """At 1280 and 390 px wide, the form comes back with the message and the username kept; no account made."""
    get_user_model().objects.create_user("ada", email="ada@example.org")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        page = browser_context_factory(viewport={"width": width, "height": 900}).new_page()
        page.goto(f"{live_server.url}/accounts/signup/")
        page.fill("input[name=username]", f"eve{width}")
        page.fill("input[name=email]", "ADA@example.org")
        page.fill("input[name=password1]", "a-long-password-1")
        page.fill("input[name=password2]", "a-long-password-1")
        page.click("form button[type=submit], form input[type=submit]")
        page.wait_for_load_state()
        assert "An account already uses this email address" in page.content()
        assert page.input_value("input[name=username]") == f"eve{width}"
        page.screenshot(path=str(SCREENSHOTS / f"signup-email-taken-{width}.png"), full_page=True)
    assert get_user_model().objects.count() == 1
