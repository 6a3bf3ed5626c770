"""Writes of accounts: sign-up (which never tells whether an email address is in use) and changing the email.

Sign-up with an address another account has creates the account without an address and tells the
address's owner by email; with a free address it stores it and sends a welcome. Either way the page says
the same ("we sent a message to the address"), so sign-up cannot be used to find who has an account.
Emails go out after the account is committed; a mail server that fails is logged and loses nothing.
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)


class EmailInUse(Exception):
    """Another account has this email address (ignoring case)."""


def send_account_email(*, to: str, template: str, context: dict) -> bool:
    """Send `accounts/email/<template>_subject.txt` / `_body.txt` to one address; False (logged) on failure."""
    context = {"site_name": settings.SITE_NAME, **context}
    subject = " ".join(render_to_string(f"accounts/email/{template}_subject.txt", context).split())
    body = render_to_string(f"accounts/email/{template}_body.txt", context)
    try:
        send_mail(subject, body, None, [to])
    except Exception:  # SMTP refusals, timeouts, DNS: the account is made; the email is not essential
        logger.exception("Could not send the %s email", template)
        return False
    return True


def _email_taken(email: str) -> bool:
    return bool(email) and get_user_model().objects.filter(email__iexact=email).exists()


def sign_up(*, username: str, password: str, email: str, login_url: str, reset_url: str) -> AbstractBaseUser:
    """Create the account; a taken email address is left off it and its owner told (see the module's note).

    Raises IntegrityError when the username was taken meanwhile.
    """
    User = get_user_model()
    taken = _email_taken(email)
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, password=password, email="" if taken else email)
    except IntegrityError:
        if not email or taken or User.objects.filter(username__iexact=username).exists():
            raise
        taken = True  # another sign-up took the address a moment ago
        with transaction.atomic():
            user = User.objects.create_user(username=username, password=password, email="")
    if email:
        template = "address_in_use" if taken else "welcome"
        context = {"username": username, "login_url": login_url, "reset_url": reset_url}
        send_account_email(to=email, template=template, context=context)
    return user


def change_email(*, user: AbstractBaseUser, email: str) -> None:
    """Give the account this email address (or none); EmailInUse when another account has it."""
    try:
        with transaction.atomic():
            get_user_model().objects.filter(pk=user.pk).update(email=email)
    except IntegrityError:
        raise EmailInUse(email) from None
    user.email = email
