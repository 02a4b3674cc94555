from django import forms
from django.utils.translation import gettext_lazy as _


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("Which identity provider uses it, such as “Okta”."),
    )

    def __init__(self, *args, **kwargs):
        # Its own ids: Settings holds other forms with a "name" field (SSO's domain).
        kwargs.setdefault("auto_id", "scim_token_%s")
        super().__init__(*args, **kwargs)
