from django import forms


class EraseForm(forms.Form):
    confirm = forms.BooleanField(
        label="I understand that this removes the data for good; it cannot be undone.",
        error_messages={"required": "Tick the box to confirm."},
    )
