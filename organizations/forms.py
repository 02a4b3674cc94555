from datetime import UTC, datetime, time, timedelta

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ui.forms import DescribedErrorsMixin

from .models import OPERATORS_LOG_ACTIONS, AuditAction, Role
from .services import KEY_LIFETIME_CHOICES


class InviteForm(DescribedErrorsMixin, forms.Form):
    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        error_messages={
            "required": _("Enter the email address of the person to invite."),
            "invalid": _("Enter a valid email address."),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "off", "placeholder": "name@example.com"}),
    )
    role = forms.ChoiceField(label=_("Role"))

    def __init__(self, *args, roles, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(role.value, role.label) for role in roles]
        self.fields["role"].initial = Role.MEMBER


class RoleForm(DescribedErrorsMixin, forms.Form):
    """A member's or service account's role. Posted, it takes any role (the view refuses
    one the poster may not assign, 403); shown, it offers `roles`, those they may."""

    # Its select always has a role chosen: a "required" mark would only be read out.
    use_required_attribute = False

    role = forms.ChoiceField(
        label=_("Role"),
        choices=Role.choices,
        error_messages={"invalid_choice": _("Choose Owner, Admin or Member.")},
    )

    def __init__(self, *args, roles=None, **kwargs):
        super().__init__(*args, **kwargs)
        if roles is not None:
            self.fields["role"].choices = [(role.value, role.label) for role in roles]


class KeyPolicyForm(DescribedErrorsMixin, forms.Form):
    max_key_lifetime_days = forms.TypedChoiceField(
        label=_("Maximum lifetime of new API keys"),
        required=False,
        coerce=int,
        empty_value=None,
        help_text=_("New keys must expire within this time. Existing keys keep their expiry."),
        error_messages={"invalid_choice": _("Choose one of the offered lifetimes.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["max_key_lifetime_days"].choices = [("", _("No limit"))] + [
            (days, _("%(days)s days") % {"days": days}) for days in KEY_LIFETIME_CHOICES
        ]


class TwoFactorPolicyForm(DescribedErrorsMixin, forms.Form):
    require_two_factor = forms.BooleanField(
        label=_("Require two-factor authentication"),
        required=False,
        help_text=_(
            "Members without it can still sign in and use their keys, but can't create or "
            "roll keys until they turn it on."
        ),
    )
    # An Owner without a second factor said yes to holding back their own keys too.
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)


class AuditFilterForm(forms.Form):
    """Filters of the audit log. Bad values are ignored, not errors."""

    action = forms.ChoiceField(
        label=_("Action"),
        required=False,
        choices=[
            ("", _("All actions")),
            *[
                (value, label)
                for value, label in AuditAction.choices
                if value not in OPERATORS_LOG_ACTIONS
            ],
        ],
    )
    member = forms.CharField(
        label=_("Member"), required=False, max_length=254, strip=True,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Name or email")}),
    )  # fmt: skip
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def filter(self, queryset):
        if not self.is_valid():
            return queryset
        # Whole days in the person's zone, as the log shows its times.
        if since := self.cleaned_data["since"]:
            queryset = queryset.filter(created_at__gte=_start_of(since))
        if until := self.cleaned_data["until"]:
            queryset = queryset.filter(created_at__lt=_start_of(until, days=1))
        if self.cleaned_data["action"]:
            queryset = queryset.filter(action=self.cleaned_data["action"])
        if member := self.cleaned_data["member"]:
            queryset = queryset.filter(
                Q(actor__email__icontains=member)
                | Q(actor__name__icontains=member)
                | Q(target_user__email__icontains=member)
                | Q(target_user__name__icontains=member)
            )
        return queryset


def _start_of(day, days: int = 0) -> datetime:
    """Midnight of `day`, `days` later, in the request's zone (accounts.time_zones)."""
    try:
        start = datetime.combine(day + timedelta(days=days), time.min)
        return timezone.make_aware(start).astimezone(UTC)
    except OverflowError:  # 9999-12-31 and a day; 0001-01-01 east of UTC
        return (datetime.max if day.year > 1 else datetime.min).replace(tzinfo=UTC)
