"""Sign-up (Django's own form, with an optional email address) and the confirmation to delete one's data.

Email addresses are unique per account, ignoring case (a unique index on lower(email), migration 0001),
so that a password reset by email reaches one account. Sign-up says that a username or an email address
is taken, as it must for the learner to choose another; it says nothing else about existing accounts.
"""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserChangeForm, UserCreationForm

EMAIL_TAKEN = "An account already uses this email address. Log in to it, or use another address (or none)."


def check_email_free(email: str, *, exclude_pk: int | None = None) -> str:
    """The email address, or a ValidationError when another account has it (case-insensitively)."""
    if email:
        others = get_user_model().objects.filter(email__iexact=email)
        if exclude_pk is not None:
            others = others.exclude(pk=exclude_pk)
        if others.exists():
            raise forms.ValidationError(EMAIL_TAKEN, code="email_taken")
    return email


class SignUpForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].required = False
        self.fields["email"].help_text = "Optional. Only used if you forget your password."

    def clean_email(self) -> str:
        return check_email_free(self.cleaned_data.get("email", ""))


class UniqueEmailUserChangeForm(UserChangeForm):
    """The admin's user form, refusing an email address another account has."""

    def clean_email(self) -> str:
        return check_email_free(self.cleaned_data.get("email", ""), exclude_pk=self.instance.pk)


class DeleteMyDataForm(forms.Form):
    confirm = forms.BooleanField(
        label="I understand that my progress, conversations and answers are deleted for good.",
        error_messages={"required": "Tick the box to confirm that you want everything deleted."},
    )
