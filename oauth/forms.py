from django import forms
from django.core import signing
from django.utils.translation import gettext_lazy as _
from oauth2_provider.forms import AllowForm

from accounts import two_factor
from organizations import scopes as scopes_

from . import scopes

OFFERED_SALT = "oauth.consent.offered"


class ConsentForm(AllowForm):
    """The toolkit's form (the request's parameters, hidden), with the person's choices:
    the organization, and the scopes among those the page offered: what the client asked
    for, and organization administration, unticked, to an Admin or Owner (clients ask for
    the MCP server's default; an admin may want more). What was offered travels signed
    with the page (`offered`), so a POST grants nothing the page didn't show, whatever its
    hidden fields say."""

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
    offered = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, memberships=(), requested=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.memberships = {m.organization_id: m for m in memberships}
        self.fields["organization"].choices = [
            (m.organization_id, m.organization.name) for m in memberships
        ]
        if self.is_bound:
            offered = self._signed_offer(self.data.get("offered", ""))
        else:
            administers = any(m.role in scopes_.ADMIN_ROLES for m in memberships)
            offered = [
                name
                for name in scopes.GRANTABLE
                if name in requested or (name == scopes_.ORG_ADMIN and administers)
            ]
            self.initial["offered"] = signing.dumps(offered, salt=OFFERED_SALT)
        self.fields["scopes"].choices = [
            (name, text) for name, text in scopes.GRANTABLE.items() if name in offered
        ]

    @staticmethod
    def _signed_offer(value: str) -> list:
        """What the page offered; nothing for a page that was not ours (a refusal)."""
        try:
            offered = signing.loads(value, salt=OFFERED_SALT, max_age=3600)
        except signing.BadSignature:
            return []
        return offered if isinstance(offered, list) else []

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
