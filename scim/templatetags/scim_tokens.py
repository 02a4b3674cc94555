from django import template

from scim.forms import TokenForm
from scim.models import ScimToken

register = template.Library()


@register.simple_tag
def scim_tokens(organization):
    """The organization's SCIM tokens still in force, newest first (Settings)."""
    return list(ScimToken.objects.unrevoked().filter(organization=organization))


@register.simple_tag
def scim_token_form():
    return TokenForm()
