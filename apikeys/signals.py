"""A member's keys and OAuth grants die with their membership, whatever deletes it: the
console, Django admin, the ORM, or the deletion of the user. The receiver runs inside the
deleting transaction, so the removal and the revocation commit together."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from oauth import services as grants
from oauth.models import RevokeReason as GrantRevokeReason
from organizations.models import Membership, Organization, User

from .models import RevokeReason
from .services import revoke_member_keys


@receiver(post_delete, sender=Membership, dispatch_uid="revoke_keys_of_removed_member")
def revoke_keys_of_removed_member(sender, instance: Membership, origin=None, **kwargs):
    # Deleting the user or the organization deletes their keys and grants with them: no
    # revocation to record (and no audit event may point at a row being deleted).
    # (`origin` is the instance or the queryset whose delete() started it all.)
    if getattr(origin, "model", type(origin)) in (User, Organization):
        return
    # The organization, where whoever deleted the membership loaded it already.
    field = Membership._meta.get_field("organization")
    loaded = {"organization": instance.organization} if field.is_cached(instance) else {}
    revoke_member_keys(instance.user_id, instance.organization_id, **loaded)
    grants.revoke_member_grants(
        instance.user_id, instance.organization_id, GrantRevokeReason.MEMBER_REMOVED
    )


@receiver(post_save, sender=User, dispatch_uid="revoke_keys_of_deactivated_user")
def revoke_keys_of_deactivated_user(sender, instance: User, **kwargs):
    # authenticate() refuses them anyway; revoking makes it visible and audited. A
    # service account disabled keeps its keys, refused until it is enabled again.
    if not instance.is_active and not instance.is_service_account:
        revoke_member_keys(instance.pk, None, reason=RevokeReason.USER_DEACTIVATED)
        grants.revoke_member_grants(instance.pk, None, GrantRevokeReason.USER_DEACTIVATED)
