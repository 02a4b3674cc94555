"""After a sign-in through an organization's SSO (allauth's user_logged_in, which carries
the social login): the person joins it as a Member if they aren't one (just in time), and
the session remembers that it came through that organization's SSO (sso.policy)."""

from allauth.account.signals import user_logged_in
from django.dispatch import receiver

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
