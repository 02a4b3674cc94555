import unicodedata
import uuid
from datetime import datetime, time, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from organizations import scopes
from ui.forms import DescribedErrorsMixin

from . import allowlist
from .services import ROLL_OVERLAPS, PolicyError, check_expiry


def no_control_characters(message):
    """A validator refusing control and invisible (format) characters, with `message`."""

    def validate(value: str) -> None:
        if any(unicodedata.category(char) in ("Cc", "Cf") for char in value):
            raise ValidationError(message)

    return validate


reject_control_characters = no_control_characters(
    _("Key names can't contain control or invisible characters.")
)


def reject_invisible_characters(value: str) -> None:
    """Descriptions may have line breaks and tabs, and no other control or invisible
    characters."""
    if any(unicodedata.category(char) in ("Cc", "Cf") and char not in "\n\r\t" for char in value):
        raise ValidationError(_("Descriptions can't contain invisible characters."))


DESCRIPTION_FIELD = dict(
    label=_("Description"),
    max_length=300,
    required=False,
    strip=True,
    validators=[reject_invisible_characters],
    widget=forms.Textarea(attrs={"rows": 2}),
    error_messages={
        "max_length": _("Descriptions can be at most 300 characters (this one has %(show_value)d).")
    },
)


NAME_FIELD = dict(
    label=_("Key name"),
    max_length=100,
    strip=True,
    validators=[reject_control_characters],
    error_messages={
        "required": _("Enter a name for the key."),
        "max_length": _("Key names can be at most 100 characters (this one has %(show_value)d)."),
    },
    help_text=_("Something that tells you where the key is used."),
)

EXPIRY_DAYS = (7, 30, 60, 90)
# Further than this is what Never is for (and 9999-12-31 overflowed the date arithmetic).
MAX_CUSTOM_EXPIRY = timedelta(days=3652)


KEY_DESCRIPTION_HELP = _("Optional. What it is for, and who to ask about it.")


class RenameForm(DescribedErrorsMixin, forms.Form):
    name = forms.CharField(
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}), **NAME_FIELD
    )
    description = forms.CharField(**DESCRIPTION_FIELD, help_text=KEY_DESCRIPTION_HELP)


class RollForm(DescribedErrorsMixin, forms.Form):
    overlap = forms.ChoiceField(
        label=_("The current secret keeps working"),
        choices=[
            ("now", _("No: it stops at once")),
            ("1h", _("For 1 hour")),
            ("24h", _("For 24 hours")),
            ("7d", _("For 7 days")),
        ],
        initial="now",
        required=False,  # not chosen: the default, at once
        widget=forms.RadioSelect,
        help_text=_(
            "While both work, the list shows who still uses the old one, so you can see "
            "when the last job has switched. Never past the key's own expiry."
        ),
    )

    @property
    def duration(self):
        return ROLL_OVERLAPS[self.cleaned_data["overlap"] or "now"]


class KeyNameForm(DescribedErrorsMixin, forms.Form):
    """The create form: a name and an expiry within the organization's policy."""

    name = forms.CharField(
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autofocus": True, "placeholder": _("e.g. CI pipeline")}
        ),
        **NAME_FIELD,
    )
    description = forms.CharField(**DESCRIPTION_FIELD, help_text=KEY_DESCRIPTION_HELP)
    # One id per displayed form: submitting it twice makes one key, not two.
    form_id = forms.UUIDField(required=False, widget=forms.HiddenInput, initial=uuid.uuid4)
    expires = forms.ChoiceField(label=_("Expiration"), required=False)
    expires_on = forms.DateField(
        label=_("Expiry date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("Enter a date like 2027-03-31.")},
    )

    surfaces = forms.MultipleChoiceField(
        label=_("Can be used with"),
        choices=list(scopes.SURFACES.items()),
        initial=list(scopes.SURFACES),
        widget=forms.CheckboxSelectMultiple,
        required=False,  # checked in clean(): a script posting only a name gets the default
    )
    access = forms.ChoiceField(
        label=_("Access"),
        required=False,
        choices=[("read_write", _("Read and write")), ("read", _("Read only"))],
        initial="read_write",
        widget=forms.RadioSelect,
    )
    org_admin = forms.BooleanField(
        label=_("Organization administration"),
        required=False,
        help_text=_("Read the organization's API keys and revoke them (Admins and Owners)."),
    )
    allowed_ips = forms.CharField(
        label=_("Allowed IP addresses"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": "203.0.113.0/24\n2001:db8::/48", "spellcheck": "false"}
        ),
        help_text=_(
            "Optional. One address or range (CIDR) per line; the key then works only from "
            "these. Empty: from anywhere."
        ),
    )

    def __init__(self, *args, organization, may_administer=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        if not may_administer:  # a Member's form has no such choice (and ignores it)
            del self.fields["org_admin"]
        # Typing past the limit is shown (a counter, then the error), never cut silently.
        self.fields["name"].widget.attrs.pop("maxlength", None)
        self.fields["name"].widget.attrs["data-max-length"] = NAME_FIELD["max_length"]
        limit = organization.max_key_lifetime_days
        allowed = [days for days in EXPIRY_DAYS if not limit or days <= limit]
        if limit and limit not in EXPIRY_DAYS:
            allowed.append(limit)
        choices = [(str(days), _("%(days)s days") % {"days": days}) for days in allowed]
        if not limit:
            choices.append(("never", _("Never")))
        choices.append(("custom", _("Custom date")))
        self.fields["expires"].choices = choices
        # 30 days, as GitHub suggests; never longer than the policy allows.
        self.fields["expires"].initial = str(min(30, limit or 30))
        # The date picker offers what the policy allows: from tomorrow to the last day
        # whose end (the key stops at the end of the day) is within the limit.
        today = timezone.localdate()
        last = today + (timedelta(days=limit - 1) if limit else MAX_CUSTOM_EXPIRY)
        self.fields["expires_on"].widget.attrs.update(
            {"min": str(today + timedelta(days=1)), "max": str(last)}
        )
        self.fields["expires_on"].help_text = _(
            "Used when Expiration is a custom date. The key stops working at the end of "
            "that day in your time zone (%(zone)s)."
        ) % {"zone": timezone.get_current_timezone_name()}
        if limit:
            allows = _("%(organization)s allows API keys for at most %(days)s days.")
            self.fields["expires"].help_text = allows % {
                "organization": organization.name,
                "days": limit,
            }

    def scopes(self) -> frozenset:
        """The scopes chosen (a form posted without them, by a script: the default)."""
        data = self.cleaned_data
        if "surfaces" not in self.data and "access" not in self.data:
            return scopes.DEFAULT | ({scopes.ORG_ADMIN} if data.get("org_admin") else set())
        return scopes.build(
            data.get("surfaces") or (),
            read_only=data.get("access") == "read",
            org_admin=bool(data.get("org_admin")),
        )

    def clean_allowed_ips(self):
        return allowlist.parse(self.cleaned_data["allowed_ips"])

    def clean(self):
        cleaned = super().clean()
        if "access" in self.data and not cleaned.get("surfaces"):  # the dialog, all unticked
            self.add_error(
                "surfaces", _("Choose at least one of the Genesis API and the MCP server.")
            )
        date = cleaned.get("expires_on")
        # Without a choice (a script posting a name only): the default the dialog offers.
        choice = cleaned.get("expires") or self.fields["expires"].initial
        expires_at = None
        if choice == "custom":
            if date is None:
                self.add_error("expires_on", _("Choose the day the key should stop working."))
                return cleaned
            if date > timezone.localdate() + MAX_CUSTOM_EXPIRY:
                self.add_error("expires_on", _("Choose a date within the next 10 years, or Never."))
                return cleaned
            # The end of that day where the person is (accounts.time_zones).
            expires_at = timezone.make_aware(datetime.combine(date + timedelta(days=1), time.min))
        elif choice and choice != "never":
            expires_at = timezone.now() + timedelta(days=int(choice))
        try:
            check_expiry(self.organization, expires_at)
        except PolicyError as error:
            self.add_error("expires_on" if choice == "custom" else "expires", str(error))
        cleaned["expires_at"] = expires_at
        return cleaned


class OrgKeyFilterForm(forms.Form):
    """Filters of the Organization API Keys section. A bad value (longer than its input
    takes, or with a NUL) filters nothing, and its field says why, as the audit log's do.

    Free text rather than a list of members, so the section costs the same with a
    thousand members as with three."""

    member = forms.CharField(
        label=_("Created by"), required=False, max_length=254, strip=True,
        widget=forms.SearchInput(attrs={"placeholder": _("Name or email")}),
    )  # fmt: skip
    q = forms.CharField(
        label=_("Name"), required=False, max_length=100, strip=True,
        widget=forms.SearchInput(attrs={"placeholder": _("Search by name")}),
    )  # fmt: skip

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


class ServiceAccountForm(DescribedErrorsMixin, forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=150,
        strip=True,
        validators=[
            no_control_characters(_("Names can't contain control or invisible characters."))
        ],
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autofocus": True, "placeholder": _("e.g. Deploy bot")}
        ),
        error_messages={
            "required": _("Enter a name for the service account."),
            "max_length": _("Names can be at most 150 characters (this one has %(show_value)d)."),
        },
    )
    description = forms.CharField(
        **DESCRIPTION_FIELD, help_text=_("Optional. What it runs, and who to ask about it.")
    )
    role = forms.ChoiceField(
        label=_("Role"),
        help_text=_("Its keys never do more than this role allows."),
        error_messages={"invalid_choice": _("A service account is an Admin or a Member.")},
    )

    def __init__(self, *args, roles, **kwargs):
        # Its dialog opens on the Members page, whose invite form has a role field too.
        kwargs.setdefault("auto_id", "id_account_%s")
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(role.value, role.label) for role in roles]
        self.fields["role"].initial = roles[-1].value if roles else None
