"""EMAIL_URL parsing (pure)."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from accounts.email_url import parse_email_url


def test_smtp_with_starttls_on_587():
    """smtp://user:pass@host:587 means STARTTLS, user and password percent-decoded."""
    settings = parse_email_url("smtp://mailer:p%40ss@mail.example.org:587")
    assert settings["EMAIL_HOST"] == "mail.example.org" and settings["EMAIL_PORT"] == 587
    assert settings["EMAIL_HOST_USER"] == "mailer" and settings["EMAIL_HOST_PASSWORD"] == "p@ss"
    assert settings["EMAIL_USE_TLS"] is True and settings["EMAIL_USE_SSL"] is False


def test_smtps_and_options():
    """smtps:// is implicit TLS on 465; ?tls=false and ?timeout= are honoured."""
    assert parse_email_url("smtps://h")["EMAIL_PORT"] == 465
    assert parse_email_url("smtps://h")["EMAIL_USE_SSL"] is True
    plain = parse_email_url("smtp://h:2525?tls=false&timeout=5")
    assert plain["EMAIL_USE_TLS"] is False and plain["EMAIL_TIMEOUT"] == 5 and plain["EMAIL_PORT"] == 2525
    assert parse_email_url("console://")["EMAIL_BACKEND"].endswith("console.EmailBackend")


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://h", "must start with smtp://"),
        ("smtp://", "names no host"),
        ("smtp://h:port", "port must be a number"),
        ("smtp://h?tls=maybe", "tls must be true or false"),
        ("smtps://h?tls=true", "not both"),
    ],
)
def test_bad_urls_say_what_is_wrong(url, words):
    with pytest.raises(ImproperlyConfigured, match=words):
        parse_email_url(url)
