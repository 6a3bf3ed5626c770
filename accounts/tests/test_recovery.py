"""Password reset, the account page (email and password changes), the header's account menu, log-out."""

import re

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-password-1"
NEW_PASSWORD = "another-long-password-2"


@pytest.fixture
def ada():
    return get_user_model().objects.create_user("ada", email="ada@example.org", password=PASSWORD)


def reset_link(message) -> str:
    match = re.search(r"http://testserver(/accounts/reset/[^/\s]+/[^/\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_password_reset_round_trip(client, ada, mailoutbox, settings):
    """Login links to the reset; the email (naming the site) carries a one-time link that sets a new password."""
    settings.SITE_NAME = "Rayleigh Academy"
    assert "/accounts/password-reset/" in client.get("/accounts/login/").content.decode()
    response = client.post("/accounts/password-reset/", {"email": "ADA@example.org"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password-reset/sent/"
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["ada@example.org"] and message.subject == "Reset your password on Rayleigh Academy"
    assert "Hello ada" in message.body and "Rayleigh Academy" in message.body
    link = reset_link(message)
    form_page = client.get(link, follow=True)  # Django moves the token into the session, then shows the form
    assert form_page.status_code == 200 and "Choose a new password" in form_page.content.decode()
    done = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}, follow=True
    )
    assert done.redirect_chain[-1][0] == "/accounts/reset/done/"
    assert "Your password is changed" in done.content.decode()
    ada.refresh_from_db()
    assert ada.check_password(NEW_PASSWORD)
    client.logout()
    again = client.get(link, follow=True)  # used once: the token is no longer valid
    assert "This link no longer works" in again.content.decode()
    assert client.post("/accounts/login/", {"username": "ada", "password": NEW_PASSWORD}).status_code == 302


def test_reset_request_says_the_same_for_unknown_addresses(client, ada, mailoutbox):
    """An address no account has gets the same redirect and page as a known one, and no email goes out."""
    known = client.post("/accounts/password-reset/", {"email": "ada@example.org"}, follow=True)
    unknown = client.post("/accounts/password-reset/", {"email": "nobody@example.org"}, follow=True)
    assert known.redirect_chain == unknown.redirect_chain
    for response in (known, unknown):
        assert "If an account exists with that email address" in response.content.decode()
    assert [m.to for m in mailoutbox] == [["ada@example.org"]]


def test_reset_requests_are_rate_limited(client, ada, mailoutbox, settings):
    """Past the limit a reset request gets 429 with Retry-After and a message saying how long; no email is sent."""
    settings.PASSWORD_RESET_RATE_LIMIT = 2
    for _ in range(2):
        assert client.post("/accounts/password-reset/", {"email": "ada@example.org"}).status_code == 302
    refused = client.post("/accounts/password-reset/", {"email": "someone@example.org"})
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Too many reset requests: at most 2 in 60 minutes" in refused.content.decode()
    assert len(mailoutbox) == 2
    other = client.post("/accounts/password-reset/", {"email": "ada@example.org"}, REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 429  # the address's own limit, from any client


def test_bad_reset_input_is_a_form_error(client):
    """A malformed address re-renders the form with the error (no 500, no email)."""
    response = client.post("/accounts/password-reset/", {"email": "not an address"})
    assert response.status_code == 200 and "Enter a valid email address" in response.content.decode()


def test_account_page_shows_the_account_and_its_links(client, ada):
    """The account page names the user and email and links to email, password and My data; it needs a login."""
    assert client.get("/accounts/")["Location"].startswith("/accounts/login/?next=/accounts/")
    client.force_login(ada)
    page = client.get("/accounts/").content.decode()
    assert "ada@example.org" in page and ">ada<" in page
    for link in ("/accounts/email/", "/accounts/password/", "/accounts/my-data/"):
        assert f'href="{link}"' in page


def test_header_menu_names_who_is_logged_in(client, ada):
    """The header's account menu (a <details>) names the user and holds Account, My data and Log out."""
    client.force_login(ada)
    page = client.get("/").content.decode()
    menu = page[page.index('<details class="account-menu">') : page.index("</details>")]
    assert "ada</summary>" in menu
    assert 'href="/accounts/"' in menu and 'href="/accounts/my-data/"' in menu and "Log out" in menu


def test_change_email_needs_the_password_and_a_free_address(client, ada):
    """Changing the email: a wrong password or an address in use is a form error; the right one saves it."""
    get_user_model().objects.create_user("bob", email="bob@example.org")
    client.force_login(ada)
    wrong = client.post("/accounts/email/", {"email": "new@example.org", "password": "nope"})
    assert wrong.status_code == 200 and "That is not your password" in wrong.content.decode()
    taken = client.post("/accounts/email/", {"email": "BOB@example.org", "password": PASSWORD})
    assert "An account already uses this email address" in taken.content.decode()
    ada.refresh_from_db()
    assert ada.email == "ada@example.org"
    done = client.post("/accounts/email/", {"email": "new@example.org", "password": PASSWORD}, follow=True)
    assert done.redirect_chain == [("/accounts/", 302)]
    assert "Your email address is now new@example.org." in done.content.decode()
    ada.refresh_from_db()
    assert ada.email == "new@example.org"


def test_change_password_keeps_the_learner_logged_in(client, ada):
    """Django's password change: the old password is checked, the new one saved, the session kept."""
    client.force_login(ada)
    done = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert done.redirect_chain == [("/accounts/", 302)]
    assert "Your password is changed" in done.content.decode()
    ada.refresh_from_db()
    assert ada.check_password(NEW_PASSWORD)


def test_logging_out_says_so(client, ada):
    """After log-out the next page says the learner is logged out."""
    client.force_login(ada)
    page = client.post("/accounts/logout/", follow=True).content.decode()
    assert "You are logged out." in page and "Log in" in page
