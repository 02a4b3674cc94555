"""Two-factor authentication: who has it, and the organization policy that requires it
before a member creates or rolls a key. The methods themselves (an authenticator app
with recovery codes, passkeys) are allauth.mfa's."""

from allauth.mfa.models import Authenticator
from django.db.models import Exists, OuterRef

# The methods that are a second factor; recovery codes only back them up (allauth
# deletes them when the last of these goes).
FACTORS = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)


def is_enabled(user) -> bool:
    """Whether the user has a second factor (one query, remembered on the user)."""
    if not hasattr(user, "_has_two_factor"):
        user._has_two_factor = Authenticator.objects.filter(
            user_id=user.pk, type__in=FACTORS
        ).exists()
    return user._has_two_factor


def annotation(user_field: str = "user_id"):
    """For lists: `has_two_factor` on each row, in the list's own query."""
    return Exists(Authenticator.objects.filter(user_id=OuterRef(user_field), type__in=FACTORS))


def missing_for(membership) -> bool:
    """The organization requires two-factor and this member hasn't turned it on."""
    return membership.organization.require_two_factor and not is_enabled(membership.user)
