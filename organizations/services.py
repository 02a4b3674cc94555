"""Every change to organizations and memberships. Views and Django admin call these.

The functions here keep the organization's invariants (one membership per user, at least
one Owner); who may call them is decided by `access` in the views.
Removing a membership revokes that member's keys: the apikeys app listens for the delete.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import audit
from .models import AuditAction, Membership, Organization, Role, ServiceAccount, User


class MembershipError(Exception):
    """A change that breaks a rule of the organization; the message is for the user."""


LAST_OWNER_MESSAGE = _(
    "An organization needs at least one Owner. Make someone else an Owner first."
)


def add_member(organization: Organization, email: str, role: str) -> Membership:
    if organization.closed_at is not None:
        raise MembershipError(
            _("%(organization)s is closed.") % {"organization": organization.name}
        )
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
    _log_removal(current)
    current.delete()


def _log_removal(membership: Membership) -> None:
    audit.record(
        membership.organization_id,
        AuditAction.MEMBER_REMOVED,
        target_user_id=membership.user_id,
        target=membership.user.email,
        details={"role": membership.role},
    )


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
    audit.record(organization.pk, AuditAction.ORGANIZATION_CREATED, target=name)
    Membership.objects.create(user=owner, organization=organization, role=Role.OWNER)
    audit.record(
        organization.pk,
        AuditAction.MEMBER_ADDED,
        target_user_id=owner.pk,
        target=owner.email,
        details={"role": Role.OWNER},
    )
    return organization


@transaction.atomic
def rename_organization(organization: Organization, name: str) -> Organization:
    if organization.name != name:
        audit.record(
            organization.pk,
            AuditAction.ORGANIZATION_RENAMED,
            target=name,
            details={"from": organization.name, "to": name},
        )
    organization.name = name
    organization.save(update_fields=["name"])
    return organization


@transaction.atomic
def close_organization(organization: Organization, reason: str) -> bool:
    """Close an organization for good: every open invitation revoked, every service
    account deleted, every member removed (the keys and grants of each revoked with
    them, by apikeys' receiver, and each removal in the log), and nobody joins again.
    The row stays, with its audit log. Returns whether this call closed it."""
    from . import invitations  # it imports this module

    closed = Organization.objects.filter(pk=organization.pk, closed_at=None).update(
        closed_at=timezone.now()
    )
    if not closed:
        return False
    organization.refresh_from_db(fields=["closed_at"])
    audit.record(
        organization.pk,
        AuditAction.ORGANIZATION_CLOSED,
        target=organization.name,
        details={"reason": reason},
    )
    for invitation in organization.invitations.filter(accepted_at=None, revoked_at=None):
        invitations.revoke(invitation)
    accounts = ServiceAccount.objects.filter(organization=organization, deleted_at=None)
    for account in accounts.select_related("user"):
        audit.record(
            organization.pk,
            AuditAction.SERVICE_ACCOUNT_DELETED,
            target_user_id=account.user_id,
            target=account.user.name,
        )
    # update(), not save(): a service account's user has no keys of its own to revoke
    # beyond this organization's, which its membership's removal revokes.
    User.objects.filter(service_account__in=accounts).update(is_active=False)
    accounts.update(deleted_at=organization.closed_at)
    members = Membership.objects.filter(organization=organization).select_related(
        "user__service_account"
    )
    for membership in members:
        if not membership.user.is_service_account:
            _log_removal(membership)
    members.delete()
    return True


@transaction.atomic
def reopen_organization(organization: Organization, reason: str) -> bool:
    """Let people be added again (by an operator: it has no members). Nothing revoked
    comes back."""
    reopened = Organization.objects.filter(pk=organization.pk, closed_at__isnull=False).update(
        closed_at=None
    )
    if reopened:
        organization.closed_at = None
        audit.record(
            organization.pk,
            AuditAction.ORGANIZATION_REOPENED,
            target=organization.name,
            details={"reason": reason},
        )
    return bool(reopened)
