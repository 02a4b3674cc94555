"""allauth's signals: the language a person chose follows them to each sign-in, the
browser's time zone becomes theirs at the first, and turning a second factor on or off
goes into the audit log."""

from allauth.account.signals import user_logged_in
from allauth.mfa.signals import authenticator_added, authenticator_removed
from django.dispatch import receiver

from organizations import audit
from organizations.models import AuditAction, Membership

from . import two_factor


@receiver(user_logged_in)
def remember_language(sender, request, response=None, user=None, **kwargs):
    """The language the person chose follows them to this browser; someone who never
    chose one sees the language this browser asks for, which is kept for their emails."""
    from .services import remember_language
    from .views import set_language_cookie

    if user is None:
        return
    if not user.language_chosen:
        remember_language(user, getattr(request, "LANGUAGE_CODE", ""))
    elif response is not None:
        set_language_cookie(response, user.language)


@receiver(user_logged_in)
def remember_time_zone(sender, request, user=None, **kwargs):
    """The browser's zone, where the person has none yet (accounts.time_zones)."""
    from . import services, time_zones

    if user is not None:
        services.remember_time_zone(user, time_zones.browser_zone(request))


@receiver(authenticator_added)
def two_factor_enabled(sender, request, user, authenticator, **kwargs):
    _record(user, AuditAction.TWO_FACTOR_ENABLED, authenticator)


@receiver(authenticator_removed)
def two_factor_disabled(sender, request, user, authenticator, **kwargs):
    _record(user, AuditAction.TWO_FACTOR_DISABLED, authenticator)


def _record(user, action, authenticator) -> None:
    """In the log of every organization the person is in: each one's Admins see who has a
    second factor. Recovery codes only back a factor up, so they aren't logged. Whoever
    acts is the actor: the person, or an operator who reset it (accounts.services); at
    sign-up nobody is signed in yet, and the person is."""
    if authenticator.type not in two_factor.FACTORS:
        return
    for organization_id in Membership.objects.filter(user=user).values_list(
        "organization_id", flat=True
    ):
        audit.record(
            organization_id,
            action,
            actor_id=audit.acting_user_id() or user.pk,
            target_user_id=user.pk,
            target=user.email,
            details={"method": authenticator.type},
        )
