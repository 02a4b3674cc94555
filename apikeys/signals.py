"""A member's keys die with their membership, whatever deletes it: the console, Django
admin, the ORM, or the deletion of the user. The receiver runs inside the deleting
transaction, so the removal and the revocation commit together."""

from django.db.models.signals import post_delete
from django.dispatch import receiver

from organizations.models import Membership

from .services import revoke_member_keys


@receiver(post_delete, sender=Membership, dispatch_uid="revoke_keys_of_removed_member")
def revoke_keys_of_removed_member(sender, instance: Membership, **kwargs):
    revoke_member_keys(instance.user_id, instance.organization_id)
