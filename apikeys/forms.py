import unicodedata
import uuid

from django import forms
from django.core.exceptions import ValidationError

from genesis.forms import DescribedErrorsMixin


def reject_control_characters(value: str) -> None:
    if any(unicodedata.category(char) in ("Cc", "Cf") for char in value):
        raise ValidationError("Key names can't contain control or invisible characters.")


class KeyNameForm(DescribedErrorsMixin, forms.Form):
    name = forms.CharField(
        label="Key name",
        max_length=100,
        strip=True,
        validators=[reject_control_characters],
        error_messages={
            "required": "Enter a name for the key.",
            "max_length": "Key names can be at most 100 characters (this one has %(show_value)d).",
        },
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autofocus": True, "placeholder": "e.g. CI pipeline"}
        ),
        help_text="Something that tells you where the key is used.",
    )
    # One id per displayed form: submitting it twice makes one key, not two.
    form_id = forms.UUIDField(required=False, widget=forms.HiddenInput, initial=uuid.uuid4)


class OrgKeyFilterForm(forms.Form):
    """Filters of the Organization API Keys section. Bad values are ignored, not errors."""

    member = forms.TypedChoiceField(
        label="Created by", required=False, coerce=int, empty_value=None
    )
    q = forms.CharField(label="Name", required=False, max_length=100, strip=True)

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member"].choices = [("", "Everyone")] + [
            (m.user_id, f"{m.user.name} ({m.user.email})") for m in members
        ]

    def filter(self, queryset):
        if not self.is_valid():
            return queryset
        if self.cleaned_data["member"]:
            queryset = queryset.filter(user_id=self.cleaned_data["member"])
        if self.cleaned_data["q"]:
            queryset = queryset.filter(name__icontains=self.cleaned_data["q"])
        return queryset
