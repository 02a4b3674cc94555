"""Every change to organizations and memberships. Views and Django admin call these.

The functions here keep the organization's invariants (one membership per user, at least
one Owner); who may call them is decided by `access` in the views.
Removing a membership revokes that member's keys: the apikeys app listens for the delete.
"""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from . import audit
from .models import AuditAction, Membership, Organization, Role, User


class MembershipError(Exception):
    """A change that breaks a rule of the organization; the message is for the user."""


LAST_OWNER_MESSAGE = _(
    "An organization needs at least one Owner. Make someone else an Owner first."
)


def add_member(organization: Organization, email: str, role: str) -> Membership:
    email = email.strip()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        raise MembershipError(
            _("No Genesis account uses %(email)s. Ask them to sign up first.") % {"email": email}
        )
    if user.is_service_account:  # it belongs to the organization that made it, only
        raise MembershipError(_("A service account can't be added to an organization."))
    try:
        with transaction.atomic():
            membership = Membership.objects.create(user=user, organization=organization, role=role)
            audit.record(
                organization.pk,
                AuditAction.MEMBER_ADDED,
                target_user_id=user.pk,
                target=user.email,
                details={"role": role},
            )
            return membership
    except IntegrityError:
        raise MembershipError(
            _("%(email)s is already a member of %(organization)s.")
            % {"email": user.email, "organization": organization.name}
        ) from None


def _lock_owner_count(organization_id: int) -> int:
    # Locking the Owner rows makes two concurrent demotions or removals of the last two
    # Owners wait for each other, so one of them sees that it would leave none.
    return len(
        Membership.objects.select_for_update(of=("self",))
        .filter(organization_id=organization_id, role=Role.OWNER)
        .values_list("pk", flat=True)
    )


@transaction.atomic
def change_role(membership: Membership, role: str) -> Membership:
    if role not in Role.values:
        raise MembershipError(_("Choose Owner, Admin or Member."))
    is_service_account = membership.user.is_service_account
    if role == Role.OWNER and is_service_account:
        raise MembershipError(_("A service account is an Admin or a Member, never an Owner."))
    owners = _lock_owner_count(membership.organization_id)
    current = Membership.objects.select_for_update(of=("self",)).get(pk=membership.pk)
    if current.role == Role.OWNER and role != Role.OWNER and owners <= 1:
        raise MembershipError(LAST_OWNER_MESSAGE)
    if current.role != role:
        audit.record(
            current.organization_id,
            AuditAction.ROLE_CHANGED,
            target_user_id=current.user_id,
            target=membership.user.name if is_service_account else membership.user.email,
            details={"from": current.role, "to": role},
        )
    current.role = role
    current.save(update_fields=["role"])
    membership.role = role
    return membership


@transaction.atomic
def remove_member(membership: Membership) -> None:
    """Remove a member; their keys in the organization are revoked in this transaction."""
    owners = _lock_owner_count(membership.organization_id)
    current = (
        Membership.objects.select_for_update(of=("self",))
        .select_related("user__service_account", "organization")  # the log, the notice
        .filter(pk=membership.pk)
        .first()
    )
    if current is None:
        return  # Already removed, by another tab or another Admin.
    if current.user.is_service_account:
        # Its keys would be revoked but the account kept, with no role: delete it instead.
        raise MembershipError(_("Delete the service account instead; that revokes its keys."))
    if current.role == Role.OWNER and owners <= 1:
        raise MembershipError(LAST_OWNER_MESSAGE)
    audit.record(
        current.organization_id,
        AuditAction.MEMBER_REMOVED,
        target_user_id=current.user_id,
        target=current.user.email,
        details={"role": current.role},
    )
    current.delete()


KEY_LIFETIME_CHOICES = (7, 30, 60, 90, 180, 365)


@transaction.atomic
def set_key_lifetime_policy(organization: Organization, days: int | None) -> Organization:
    """The longest lifetime new API keys may have (None: no limit). Existing keys keep
    their expiry."""
    if days is not None and days not in KEY_LIFETIME_CHOICES:
        raise MembershipError(_("Choose one of the offered lifetimes."))
    if organization.max_key_lifetime_days != days:
        audit.record(
            organization.pk,
            AuditAction.POLICY_CHANGED,
            target="Maximum API key lifetime",  # for readers of the raw row (admin)
            details={
                "policy": "max_key_lifetime",
                "from": organization.max_key_lifetime_days,
                "to": days,
            },
        )
    organization.max_key_lifetime_days = days
    organization.save(update_fields=["max_key_lifetime_days"])
    return organization


@transaction.atomic
def set_two_factor_policy(organization: Organization, required: bool) -> Organization:
    """Whether members need two-factor before they create or roll keys. Nobody is signed
    out or locked out: members without it see a banner and can still use their keys."""
    if organization.require_two_factor != required:
        audit.record(
            organization.pk,
            AuditAction.POLICY_CHANGED,
            target="Two-factor authentication",  # for readers of the raw row (admin)
            details={
                "policy": "two_factor",
                "from": organization.require_two_factor,
                "to": required,
            },
        )
    organization.require_two_factor = required
    organization.save(update_fields=["require_two_factor"])
    return organization


@transaction.atomic
def create_organization(name: str, slug: str, owner: User) -> Organization:
    organization = Organization.objects.create(name=name, slug=slug)
    Membership.objects.create(user=owner, organization=organization, role=Role.OWNER)
    return organization
