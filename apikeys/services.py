"""Every change to API keys, and the one way a key is checked. Views, Django admin, the API
and the MCP server all come through here."""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from organizations.models import Membership, Organization, User

from . import keys
from .models import ApiKey, RevokeReason


class NotAMember(Exception):
    """Keys are only made for members of the organization."""


@dataclass(frozen=True)
class KeyContext:
    """What a valid key stands for, as of this request."""

    key: ApiKey
    user: User
    organization: Organization
    role: str


@transaction.atomic
def create_key(
    user: User, organization: Organization, name: str, expires_at=None
) -> tuple[ApiKey, str]:
    """Create a key and return it with its plaintext.

    The plaintext exists only in the return value: the caller shows it once and drops it.
    """
    # Lock the membership: a concurrent removal either waits for this key and then
    # revokes it, or has already removed the member and we refuse.
    locked = Membership.objects.select_for_update().filter(user=user, organization=organization)
    if not list(locked.values_list("pk", flat=True)):
        raise NotAMember
    plaintext = keys.generate()
    pepper_id = keys.current_pepper_id()
    key = ApiKey.objects.create(
        user=user,
        organization=organization,
        name=name,
        hint=keys.hint(plaintext),
        digest=keys.digest(plaintext, pepper_id),
        pepper_id=pepper_id,
        expires_at=expires_at,
    )
    return key, plaintext


def _revoke(key: ApiKey, actor: User | None, reason: str) -> bool:
    """Revoke unless already revoked. Returns whether this call did it, so a second tab or
    a double submit gets a friendly answer rather than an error."""
    now = timezone.now()
    updated = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by=actor, revoke_reason=reason
    )
    if updated:
        key.revoked_at, key.revoked_by, key.revoke_reason = now, actor, reason
    return bool(updated)


def delete_key(key: ApiKey, actor: User) -> bool:
    """The owner deletes their own key. Kept as a revoked row, so its history stays."""
    return _revoke(key, actor, RevokeReason.DELETED)


def revoke_key(key: ApiKey, actor: User | None) -> bool:
    """An Admin, Owner or operator revokes a key of the organization."""
    return _revoke(key, actor, RevokeReason.REVOKED)


def revoke_member_keys(user_id: int, organization_id: int) -> int:
    """Revoke every active key a member issued in an organization; returns how many."""
    return (
        ApiKey.objects.active()
        .filter(user_id=user_id, organization_id=organization_id)
        .update(revoked_at=timezone.now(), revoke_reason=RevokeReason.MEMBER_REMOVED)
    )


def authenticate(raw_key: object) -> KeyContext | None:
    """The key's context, or None for any key that must not work.

    A malformed key or a bad checksum costs no query. Anything else costs exactly one,
    which checks every condition at once: not revoked, not expired, the user active and
    still a member of the key's organization. No answer is cached, so a revoked key, a
    removed member or a deactivated user is refused on the very next request.
    """
    if not keys.is_well_formed(raw_key):
        return None
    digests = keys.candidate_digests(raw_key)
    key = (
        ApiKey.objects.select_related("user", "organization")
        .filter(
            digest__in=digests.values(),
            revoked_at__isnull=True,
            user__is_active=True,
            organization__memberships__user=F("user"),
        )
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .annotate(role=F("organization__memberships__role"))
        .first()
    )
    if key is None or digests.get(key.pepper_id) != key.digest:
        return None
    return KeyContext(key=key, user=key.user, organization=key.organization, role=key.role)
