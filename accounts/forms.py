"""Sign-up (Django's own form, with an optional email address) and the confirmation to delete one's data."""

from django import forms
from django.contrib.auth.forms import UserCreationForm


class SignUpForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].required = False
        self.fields["email"].help_text = "Optional. Only used if you forget your password."


class DeleteMyDataForm(forms.Form):
    confirm = forms.BooleanField(
        label="I understand that my progress, conversations and answers are deleted for good.",
        error_messages={"required": "Tick the box to confirm that you want everything deleted."},
    )
