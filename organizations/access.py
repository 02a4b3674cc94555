"""Who may see and do what in an organization. Views use these helpers and nothing else.

Outsiders get 404 (no hint that the organization exists); members without the role get 403.
"""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from .models import Invitation, Membership, Role


def get_membership_or_404(user, slug: str) -> Membership:
    """The signed-in user's membership in the organization with this slug."""
    return get_object_or_404(
        Membership.objects.select_related("organization", "user"),
        user=user,
        organization__slug=slug,
    )


def require_admin(membership: Membership) -> None:
    if not membership.is_admin:
        raise PermissionDenied(_("Only Admins and Owners can do this."))


def require_owner(membership: Membership) -> None:
    if not membership.is_owner:
        raise PermissionDenied(_("Only Owners can change the organization's settings."))


def get_member_or_404(membership: Membership, member_id: int) -> Membership:
    """Another person's membership of the same organization, for an Admin or Owner to
    manage (service accounts have their own pages)."""
    require_admin(membership)
    return get_object_or_404(
        Membership.objects.select_related("user", "organization"),
        pk=member_id,
        organization_id=membership.organization_id,
        user__service_account__isnull=True,
    )


def assignable_roles(membership: Membership) -> list[Role]:
    """Owners grant every role; Admins never grant or take away Owner."""
    if membership.is_owner:
        return [Role.OWNER, Role.ADMIN, Role.MEMBER]
    if membership.is_admin:
        return [Role.ADMIN, Role.MEMBER]
    return []


def can_manage(actor: Membership, target: Membership) -> bool:
    """Whether `actor` may change the role of, or remove, `target`."""
    if actor.is_owner:
        return True
    return actor.is_admin and not target.is_owner


def require_can_manage(actor: Membership, target: Membership) -> None:
    if not can_manage(actor, target):
        raise PermissionDenied(_("Only Owners can change or remove an Owner."))


def require_can_assign(actor: Membership, role: str) -> None:
    if role not in assignable_roles(actor):
        raise PermissionDenied(_("Only Owners can make someone an Owner."))


def get_invitation_or_404(membership: Membership, invitation_id: int) -> Invitation:
    """An open invitation of the same organization, for an Admin or Owner to manage."""
    require_admin(membership)
    return get_object_or_404(
        Invitation.objects.select_related("organization"),
        pk=invitation_id,
        organization_id=membership.organization_id,
        accepted_at=None,
        revoked_at=None,
    )
