"""Sign-up, log-in and log-out."""

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-password-1"


def signup(client, username: str = "ada", next_url: str | None = None):
    data = {"username": username, "email": "", "password1": PASSWORD, "password2": PASSWORD}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/accounts/signup/", data)


def test_signup_creates_the_account_and_logs_in(client):
    """After signing up the learner is logged in and sent to the page they came from."""
    response = signup(client, next_url="/courses/x/")
    assert response.status_code == 302
    assert response["Location"] == "/courses/x/"
    assert get_user_model().objects.filter(username="ada").exists()
    assert "Log out" in client.get("/").content.decode()


def test_signup_refuses_open_redirects(client):
    """A `next` pointing at another site is ignored."""
    assert signup(client, next_url="https://evil.example/steal")["Location"] == "/"
    client.logout()
    assert signup(client, username="bob", next_url="//evil.example/")["Location"] == "/"


def test_signup_shows_form_errors(client):
    """Mismatched passwords re-render the form with the error, creating nothing."""
    response = client.post(
        "/accounts/signup/", {"username": "ada", "password1": PASSWORD, "password2": "something-else-2"}
    )
    assert response.status_code == 200
    assert "password fields didn" in response.content.decode()
    assert not get_user_model().objects.exists()


def test_login_with_safe_next(client):
    """Logging in redirects to a same-site `next`, never to another site."""
    get_user_model().objects.create_user("ada", password=PASSWORD)
    good = client.post("/accounts/login/", {"username": "ada", "password": PASSWORD, "next": "/my-progress/"})
    assert good["Location"] == "/my-progress/"
    client.logout()
    bad = client.post("/accounts/login/", {"username": "ada", "password": PASSWORD, "next": "https://evil.example/"})
    assert bad["Location"] == "/"


def test_login_page_renders(client):
    """The log-in page has the form and a way to sign up that keeps `next`."""
    page = client.get("/accounts/login/?next=/courses/x/").content.decode()
    assert 'name="username"' in page and 'name="password"' in page
    assert "/accounts/signup/?next=/courses/x/" in page


def test_logout_is_post_only(client):
    """Logging out needs a POST (a link or prefetch cannot log a learner out)."""
    user = get_user_model().objects.create_user("ada", password=PASSWORD)
    client.force_login(user)
    assert client.get("/accounts/logout/").status_code == 405
    assert client.post("/accounts/logout/").status_code == 302
    assert "Log in" in client.get("/").content.decode()


def test_signup_with_a_taken_email_says_the_same_as_with_a_free_one(client, mailoutbox):
    """Sign-up never tells whether an address is in use (any case): same page, same message; the owner is told.

    The second account is made without the address (the unique index holds) and the address's owner gets an
    email saying so; a fresh address gets a welcome. Empty addresses repeat freely.
    """
    data = {"username": "ada", "email": "Ada@Example.org", "password1": PASSWORD, "password2": PASSWORD}
    first = client.post("/accounts/signup/", data, follow=True)
    client.logout()
    second = client.post("/accounts/signup/", data | {"username": "eve", "email": "ada@EXAMPLE.org"}, follow=True)
    assert first.redirect_chain == second.redirect_chain == [("/", 302)]
    said = [[str(m) for m in response.context["messages"]] for response in (first, second)]
    assert said == [
        ["Welcome, ada: your account is ready. We sent a message to Ada@example.org."],
        ["Welcome, eve: your account is ready. We sent a message to ada@example.org."],
    ]
    assert "already" not in second.content.decode()
    User = get_user_model()
    assert User.objects.get(username="eve").email == "" and User.objects.get(username="ada").email == "Ada@example.org"
    assert [m.to for m in mailoutbox] == [["Ada@example.org"], ["ada@example.org"]]  # Django lowercases domains
    assert "Welcome" in mailoutbox[0].subject
    assert "used your email address" in mailoutbox[1].subject and '"eve"' in mailoutbox[1].body
    assert "/accounts/password-reset/" in mailoutbox[1].body
    client.logout()
    client.post("/accounts/signup/", data | {"username": "bob", "email": ""})
    client.logout()
    client.post("/accounts/signup/", data | {"username": "cy", "email": ""})
    assert User.objects.filter(username__in=["bob", "cy"]).count() == 2  # empty emails repeat
    assert len(mailoutbox) == 2


def test_signup_survives_a_mail_server_that_fails(client, settings, caplog):
    """An SMTP server that refuses still leaves the account made and the learner logged in (the failure is logged)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens
    data = {"username": "ada", "email": "ada@example.org", "password1": PASSWORD, "password2": PASSWORD}
    assert client.post("/accounts/signup/", data).status_code == 302
    assert get_user_model().objects.get(username="ada").email == "ada@example.org"
    assert "Could not send the welcome email" in caplog.text


def test_the_database_refuses_a_second_account_with_the_same_email_in_another_case():
    """The unique index on lower(email) holds whatever writes the account (a script, a race)."""
    from django.db import IntegrityError, transaction

    User = get_user_model()
    User.objects.create_user("one", email="Same@example.org")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user("two", email="same@example.ORG")
    User.objects.create_user("three", email="")
    User.objects.create_user("four", email="")


def test_the_admin_refuses_an_email_address_another_account_has(client):
    """Staff editing an account get a form error, not a 500, for an email address already in use."""
    User = get_user_model()
    User.objects.create_user("one", email="taken@example.org")
    other = User.objects.create_user("two", email="")
    admin = User.objects.create_superuser("root", password=PASSWORD)
    client.force_login(admin)
    form = client.get(f"/admin/auth/user/{other.pk}/change/").context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "password"}
    data |= {"email": "TAKEN@example.org", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"}
    data.pop("groups", None), data.pop("user_permissions", None), data.pop("last_login", None)
    response = client.post(f"/admin/auth/user/{other.pk}/change/", data)
    assert response.status_code == 200 and "An account already uses this email address" in response.content.decode()
    other.refresh_from_db()
    assert other.email == ""
