from django import forms

from genesis.forms import DescribedErrorsMixin

from .models import Role
from .services import KEY_LIFETIME_CHOICES


class AddMemberForm(DescribedErrorsMixin, forms.Form):
    email = forms.EmailField(
        label="Email",
        max_length=254,
        error_messages={
            "required": "Enter the email address of the person to add.",
            "invalid": "Enter a valid email address.",
        },
        widget=forms.EmailInput(attrs={"autocomplete": "off", "placeholder": "name@example.com"}),
    )
    role = forms.ChoiceField(label="Role")

    def __init__(self, *args, roles, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(role.value, role.label) for role in roles]
        self.fields["role"].initial = Role.MEMBER


class RoleForm(DescribedErrorsMixin, forms.Form):
    role = forms.ChoiceField(
        label="Role",
        choices=Role.choices,
        error_messages={"invalid_choice": "Choose Owner, Admin or Member."},
    )


class KeyPolicyForm(DescribedErrorsMixin, forms.Form):
    max_key_lifetime_days = forms.TypedChoiceField(
        label="Maximum lifetime of new API keys",
        required=False,
        coerce=int,
        empty_value=None,
        help_text="New keys must expire within this time. Existing keys keep their expiry.",
        error_messages={"invalid_choice": "Choose one of the offered lifetimes."},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["max_key_lifetime_days"].choices = [("", "No limit")] + [
            (days, f"{days} days") for days in KEY_LIFETIME_CHOICES
        ]
