"""What a member's removal does to keys, for the removal dialog (organizations'), which
knows nothing of keys itself: this app owns keys and the receiver that revokes them."""

from django import template

from apikeys.models import ApiKey

register = template.Library()


@register.simple_tag
def keys_revoked_with(membership):
    """The member's own unrevoked keys in the organization: removing them revokes these."""
    return list(
        ApiKey.objects.unrevoked()
        .filter(organization_id=membership.organization_id, user_id=membership.user_id)
        .order_by("-last_used_at", "-created_at")
    )


@register.simple_tag
def service_keys_made_by(membership):
    """Working keys of the organization's service accounts that the member made: they
    survive the removal, and the member knows their secrets (roll them)."""
    return list(
        ApiKey.objects.active()
        .filter(
            organization_id=membership.organization_id,
            created_by_id=membership.user_id,
            user__service_account__isnull=False,
        )
        .select_related("user")
        .order_by("user__name", "-created_at")
    )
