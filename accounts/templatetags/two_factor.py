from django import template

from .. import two_factor

register = template.Library()


@register.filter
def lacks_required_two_factor(membership) -> bool:
    """For the banner: the organization requires two-factor and this member lacks it."""
    return bool(membership) and two_factor.missing_for(membership)
