import unicodedata
import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q

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
    """Filters of the Organization API Keys section. Bad values are ignored, not errors.

    Free text rather than a list of members, so the section costs the same with a
    thousand members as with three."""

    member = forms.CharField(label="Created by", required=False, max_length=254, strip=True)
    q = forms.CharField(label="Name", required=False, max_length=100, strip=True)

    def filter(self, queryset):
        if not self.is_valid():
            return queryset
        if member := self.cleaned_data["member"]:
            queryset = queryset.filter(
                Q(user__name__icontains=member) | Q(user__email__icontains=member)
            )
        if self.cleaned_data["q"]:
            queryset = queryset.filter(name__icontains=self.cleaned_data["q"])
        return queryset
