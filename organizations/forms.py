from django import forms

from genesis.forms import DescribedErrorsMixin

from .models import Role


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
