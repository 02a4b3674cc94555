"""Which keys a member may act on. A key that isn't theirs to know about is a 404."""

from django.http import Http404
from django.shortcuts import get_object_or_404

from organizations.access import require_admin
from organizations.models import Membership

from .models import ApiKey

MAX_ID = 2**63 - 1


def get_own_key_or_404(membership: Membership, key_id: int) -> ApiKey:
    """One of the member's own keys in this organization (active or not: a key revoked in
    another tab gets a friendly answer, not a 404)."""
    return get_object_or_404(
        ApiKey, pk=key_id, user_id=membership.user_id, organization_id=membership.organization_id
    )


def get_usage_key_or_404(membership: Membership, key_id: int) -> ApiKey:
    """A key whose usage the member may see: one of their own, or for Admins and Owners
    any key of the organization; revoked ones too (who still presents an old secret is
    the point). Another person's key is a 404 to a Member, as everywhere."""
    if key_id > MAX_ID:  # past any row, and past what SQLite's integers hold
        raise Http404
    keys = ApiKey.objects.select_related("user__service_account").filter(
        organization_id=membership.organization_id
    )
    if not membership.is_admin:
        keys = keys.filter(user_id=membership.user_id)
    return get_object_or_404(keys, pk=key_id)


def get_org_key_or_404(membership: Membership, key_id: int) -> ApiKey:
    """Any key of the organization, for its Admins and Owners (403 for Members)."""
    require_admin(membership)
    return get_object_or_404(
        ApiKey.objects.select_related("user"),
        pk=key_id,
        organization_id=membership.organization_id,
    )


def get_service_account_or_404(membership: Membership, account_id: int) -> Membership:
    """The membership of one of the organization's service accounts (not deleted), for its
    Admins and Owners (403 for Members)."""
    require_admin(membership)
    if account_id > MAX_ID:  # past any row, and past what SQLite's integers hold
        raise Http404
    return get_object_or_404(
        Membership.objects.select_related("organization", "user__service_account__created_by"),
        user_id=account_id,
        organization_id=membership.organization_id,
        # Its own organization's, nowhere else (an operator can't add it elsewhere either).
        user__service_account__organization_id=membership.organization_id,
        user__service_account__deleted_at=None,
    )


def get_service_account_key_or_404(account: Membership, key_id: int) -> ApiKey:
    """One of a service account's keys (active or not, like get_own_key_or_404)."""
    return get_object_or_404(
        ApiKey.objects.select_related("user"),
        pk=key_id,
        user_id=account.user_id,
        organization_id=account.organization_id,
    )
