"""Every change to service accounts: created, disabled, enabled and deleted by an
organization's Admins and Owners (who may is decided by the views' access rules), or by
an operator in Django admin. Their keys are made and rolled by the key services like
anyone's, with the acting Admin as `created_by`."""

import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from organizations import audit
from organizations.models import (
    AuditAction,
    Membership,
    Organization,
    Role,
    ServiceAccount,
    User,
)

from .models import RevokeReason
from .services import revoke_member_keys

# Never Owner: an Owner can change the organization's settings and its Owners, which is
# a person's job.
ROLES = (Role.ADMIN, Role.MEMBER)


class ServiceAccountError(Exception):
    """A change that breaks a rule; the message is for the user."""


def active(organization_id: int):
    """The organization's service accounts that were not deleted (disabled ones too)."""
    return ServiceAccount.objects.filter(organization_id=organization_id, deleted_at=None)


def _check(organization: Organization, name: str, role: str) -> None:
    if role not in ROLES:
        raise ServiceAccountError(_("A service account is an Admin or a Member, never an Owner."))
    taken = active(organization.pk).filter(user__name__iexact=name).exists()
    if taken:
        raise ServiceAccountError(
            _("%(organization)s already has a service account named “%(name)s”.")
            % {"organization": organization.name, "name": name}
        )
    # Nor a member's name: the audit log and emails would read as if that person acted.
    person = Membership.objects.filter(
        organization=organization, user__name__iexact=name, user__service_account__isnull=True
    )
    if person.exists():
        raise ServiceAccountError(
            _("“%(name)s” is the name of a member of %(organization)s. Choose another one.")
            % {"organization": organization.name, "name": name}
        )


@transaction.atomic
def create(
    organization: Organization, name: str, description: str, role: str, actor: User | None
) -> ServiceAccount:
    _check(organization, name, role)
    user = User(email=f"{secrets.token_hex(8)}@{ServiceAccount.EMAIL_DOMAIN}", name=name)
    user.set_unusable_password()
    user.save()
    Membership.objects.create(user=user, organization=organization, role=role)
    account = ServiceAccount.objects.create(
        user=user, organization=organization, description=description, created_by=actor
    )
    audit.record(
        organization.pk,
        AuditAction.SERVICE_ACCOUNT_CREATED,
        target_user_id=user.pk,
        target=name,
        details={"role": role},
    )
    return account


def _set_active(account: ServiceAccount, enabled: bool, action: str) -> bool:
    # update(), not save(): a person deactivated has their keys revoked (apikeys.signals);
    # a service account disabled keeps them, refused until it is enabled again.
    changed = User.objects.filter(pk=account.user_id, is_active=not enabled).update(
        is_active=enabled
    )
    account.user.is_active = enabled
    if changed:
        audit.record(
            account.organization_id,
            action,
            target_user_id=account.user_id,
            target=account.user.name,
        )
    return bool(changed)


@transaction.atomic
def disable(account: ServiceAccount) -> bool:
    """Every key of the account is refused from the next request on. Returns whether
    this call did it."""
    return _set_active(account, False, AuditAction.SERVICE_ACCOUNT_DISABLED)


@transaction.atomic
def enable(account: ServiceAccount) -> bool:
    return _set_active(account, True, AuditAction.SERVICE_ACCOUNT_ENABLED)


@transaction.atomic
def delete(account: ServiceAccount) -> bool:
    """Revoke every key of the account and end its membership. Returns whether this call
    did it (a second tab finds it deleted)."""
    claimed = ServiceAccount.objects.filter(pk=account.pk, deleted_at=None).update(
        deleted_at=timezone.now()
    )
    if not claimed:
        return False
    revoke_member_keys(account.user_id, account.organization_id, RevokeReason.ACCOUNT_DELETED)
    Membership.objects.filter(
        user_id=account.user_id, organization_id=account.organization_id
    ).delete()
    User.objects.filter(pk=account.user_id).update(is_active=False)
    audit.record(
        account.organization_id,
        AuditAction.SERVICE_ACCOUNT_DELETED,
        target_user_id=account.user_id,
        target=account.user.name,
    )
    return True
