"""Sign-up (Django's own form, with an optional email address) and the confirmation to delete one's data.

Email addresses are unique per account, ignoring case (a unique index on lower(email), migration 0001),
so that a password reset by email reaches one account. Sign-up says that a username is taken, as it must
for the learner to choose another; it never says whether an email address is (accounts.services.sign_up).
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


class UniqueEmailUserChangeForm(UserChangeForm):
    """The admin's user form, refusing an email address another account has."""

    def clean_email(self) -> str:
        return check_email_free(self.cleaned_data.get("email", ""), exclude_pk=self.instance.pk)


class ChangeEmailForm(forms.Form):
    """A new email address (or none), confirmed with the account's password."""

    email = forms.EmailField(label="New email address", required=False, max_length=254)
    password = forms.CharField(
        label="Your password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["email"].help_text = "Leave it empty to remove your address (you then cannot reset your password)."

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your password. Type your current password.", code="password")
        return password

    def clean_email(self) -> str:
        return check_email_free(self.cleaned_data.get("email", ""), exclude_pk=self.user.pk)


class DeleteMyDataForm(forms.Form):
    confirm = forms.BooleanField(
        label="I understand that my progress, conversations and answers are deleted for good.",
        error_messages={"required": "Tick the box to confirm that you want everything deleted."},
    )
