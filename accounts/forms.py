from allauth.account.forms import SignupForm as AllauthSignupForm
from allauth.core import context
from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from organizations import invitations
from organizations.models import User

from . import time_zones


class SignupForm(AllauthSignupForm):
    """allauth's sign-up plus a name. Through an invitation the email is the invited one
    and can't be changed (a disabled field ignores what is posted)."""

    name = forms.CharField(label=_("Name"), max_length=150)
    field_order = ["email", "name", "password1"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs["autocomplete"] = "name"
        # allauth doesn't hand forms the request; it keeps it in a context of its own.
        invitation = invitations.pending(context.request)
        if invitation is not None:
            self.fields["email"].initial = invitation.email
            self.fields["email"].disabled = True
            self.fields["email"].help_text = _("The address your invitation was sent to.")


class ProfileForm(forms.ModelForm):
    language = forms.ChoiceField(
        label=_("Language"),
        # Blank: each browser's own, until the person picks one (here or in the header).
        choices=[("", _("As your browser asks")), *settings.LANGUAGES],
        required=False,
        help_text=_("For the console and the emails we send you."),
    )
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        choices=time_zones.choices,
        required=False,  # not posted: unchanged
        help_text=_("Every time in the console and in our emails is shown in it."),
    )
    stale_key_digest = forms.BooleanField(
        label=_("Weekly digest of stale API keys"),
        required=False,
        help_text=_(
            "Each week, the keys nobody has used for 30 days in the organizations you are "
            "an Admin or Owner of."
        ),
    )

    class Meta:
        model = User
        # The language and the zone are saved by the service (what blank means is its).
        fields = ["name"]
        labels = {"name": _("Name")}

    def __init__(self, *args, manages_keys: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stale_key_digest"].initial = self.instance.stale_key_digest
        if not manages_keys:  # nothing to send them: no switch that does nothing
            del self.fields["stale_key_digest"]

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Enter your name."))
        return name
