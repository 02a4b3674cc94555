from urllib.parse import urlsplit

from django import forms
from django.utils.translation import gettext_lazy as _

from ui.forms import DescribedErrorsMixin

from .domains import MAILBOXES


class OidcForm(DescribedErrorsMixin, forms.Form):
    issuer = forms.URLField(
        label=_("Issuer URL"),
        max_length=500,
        assume_scheme="https",
        help_text=_("Its discovery document is read from /.well-known/openid-configuration."),
        error_messages={
            "required": _("Enter the issuer URL of your OpenID provider."),
            "invalid": _("Enter a valid URL, such as https://login.example.com."),
        },
        widget=forms.URLInput(attrs={"placeholder": "https://login.example.com"}),
    )
    client_id = forms.CharField(
        label=_("Client ID"),
        max_length=191,
        error_messages={"required": _("Enter the client ID your provider gave you.")},
    )
    client_secret = forms.CharField(
        label=_("Client secret"),
        max_length=191,
        required=False,
        strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args, secret_set: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["client_secret"].help_text = (
            _("A secret is set. Leave this empty to keep it, or enter a new one to replace it.")
            if secret_set
            else _("Stored for signing in, and never shown again.")
        )

    def clean_issuer(self):
        issuer = self.cleaned_data["issuer"].rstrip("/")
        parts = urlsplit(issuer)
        # An issuer is a scheme, a host and a path (OpenID Connect Discovery 1.0, 4.1):
        # a query or fragment would swallow the discovery path, and a user in it is no one.
        if (
            parts.scheme not in ("https", "http")
            or not parts.hostname
            or parts.query
            or parts.fragment
            or "?" in issuer
            or "#" in issuer
            or parts.username is not None
        ):
            raise forms.ValidationError(_("Enter a valid URL, such as https://login.example.com."))
        return issuer


class SamlForm(DescribedErrorsMixin, forms.Form):
    """The IdP's metadata: its URL, or the XML pasted (one of them)."""

    metadata_url = forms.URLField(
        label=_("IdP metadata URL"),
        max_length=500,
        required=False,
        assume_scheme="https",
        error_messages={"invalid": _("Enter a valid URL, such as https://login.example.com.")},
        widget=forms.URLInput(attrs={"placeholder": "https://login.example.com/saml/metadata"}),
    )
    metadata_xml = forms.CharField(
        label=_("Or the IdP metadata XML"),
        max_length=200_000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=_(
            "It must name the IdP's entity ID, its single sign-on URL (HTTP-Redirect "
            "binding) and its signing certificate."
        ),
    )

    def clean(self):
        data = super().clean()
        given = data.get("metadata_url") or data.get("metadata_xml", "").strip()
        if not given and not self.errors:
            self.add_error(
                "metadata_url", _("Enter the IdP metadata URL, or paste its metadata XML.")
            )
        return data


class RequireSsoForm(DescribedErrorsMixin, forms.Form):
    require_sso = forms.BooleanField(
        label=_("Require SSO"),
        required=False,
        help_text=_(
            "Members open this organization, and create or roll keys in it, only after "
            "signing in through its SSO. Their keys and service accounts keep working."
        ),
    )
    break_glass = forms.TypedChoiceField(
        label=_("Break-glass Owner"),
        required=False,
        coerce=int,
        empty_value=None,
        help_text=_("This Owner may still sign in with a password or a passkey, should SSO fail."),
    )

    def __init__(self, *args, owners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["break_glass"].choices = [("", "—")] + [
            (owner.pk, f"{owner.user.name} ({owner.user.email})") for owner in owners
        ]


class DomainForm(DescribedErrorsMixin, forms.Form):
    name = forms.CharField(
        label=_("Domain"),
        max_length=253,
        error_messages={"required": _("Enter a domain name such as example.com.")},
        widget=forms.TextInput(attrs={"placeholder": "example.com", "autocomplete": "off"}),
    )
    mailbox = forms.ChoiceField(
        label=_("Send the code to"),
        choices=[(mailbox, f"{mailbox}@…") for mailbox in MAILBOXES],
        help_text=_("One of the addresses certificate authorities accept for a domain."),
    )


class DomainCodeForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=32)


class SignInForm(DescribedErrorsMixin, forms.Form):
    who = forms.CharField(
        label=_("Work email or organization"),
        max_length=254,
        error_messages={"required": _("Enter your work email address or your organization's ID.")},
        widget=forms.TextInput(
            attrs={"autocomplete": "email", "placeholder": "name@example.com", "autofocus": True}
        ),
    )
