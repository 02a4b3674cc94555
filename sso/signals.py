"""After a sign-in through an organization's SSO (allauth's user_logged_in, which carries
the social login): the person joins it as a Member if they aren't one (just in time), and
the session remembers that it came through that organization's SSO (sso.policy). When
the membership goes (SCIM's deprovisioning, an Admin's removal, leaving), the sessions
that came through that SSO end once the removal has committed."""

from allauth.account.signals import user_logged_in
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from organizations.models import Membership

from . import adapter, policy, services


@receiver(user_logged_in)
def joined_through_sso(sender, request, user, sociallogin=None, **kwargs):
    if sociallogin is None:
        return
    connection = adapter.connection_for(sociallogin)
    if connection is None:
        return
    services.join_through_sso(connection.organization, user)
    policy.record(request, connection.organization_id)


@receiver(post_delete, sender=Membership, dispatch_uid="end_sso_sessions_of_removed_member")
def end_sso_sessions_of_removed_member(sender, instance: Membership, **kwargs):
    user_id, organization_id = instance.user_id, instance.organization_id
    transaction.on_commit(lambda: policy.end_sessions_through(user_id, organization_id))
