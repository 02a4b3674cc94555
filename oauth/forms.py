from django import forms
from django.utils.translation import gettext_lazy as _
from oauth2_provider.forms import AllowForm

from accounts import two_factor
from organizations import scopes as scopes_

from . import scopes


class ConsentForm(AllowForm):
    """The toolkit's form (the request's parameters, hidden), with the person's choices:
    the organization, and the scopes among those the client asked for."""

    organization = forms.TypedChoiceField(
        label=_("Organization"),
        coerce=int,
        required=False,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": _("Choose one of your organizations.")},
    )
    scopes = forms.MultipleChoiceField(
        label=_("Access"), widget=forms.CheckboxSelectMultiple, required=False
    )

    def __init__(self, *args, memberships=(), requested=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.memberships = {m.organization_id: m for m in memberships}
        self.fields["organization"].choices = [
            (m.organization_id, m.organization.name) for m in memberships
        ]
        self.fields["scopes"].choices = [
            (name, text) for name, text in scopes.GRANTABLE.items() if name in requested
        ]

    def clean(self):
        data = super().clean()
        if not data.get("allow"):
            return data  # Deny needs no choice
        membership = self.memberships.get(data.get("organization"))
        if membership is None:
            self.add_error("organization", _("Choose one of your organizations."))
            return data
        if two_factor.missing_for(membership):
            self.add_error(
                "organization",
                _("%(organization)s requires two-factor authentication: turn it on first.")
                % {"organization": membership.organization.name},
            )
            return data
        chosen = set(data.get("scopes") or ())
        if scopes_.MCP_READ not in chosen:
            self.add_error("scopes", _("Read access is needed to use the MCP server."))
        beyond = chosen - scopes.allowed_for(membership.role)
        if beyond:
            self.add_error(
                "scopes",
                _("Organization admin needs the Admin or Owner role in %(organization)s.")
                % {"organization": membership.organization.name},
            )
        data["membership"] = membership
        # What the toolkit stores on the code, and then on the tokens.
        data["scope"] = scopes_.serialize(chosen)
        return data
