"""What the person page shows: a person across every organization, in a few queries
whatever they hold. Never a secret: hints, scopes, dates, types."""

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.db.models import F, Q

from apikeys.models import ApiKey
from oauth.models import AuthorizedApp
from organizations.models import AuditEvent, Membership, User

# A page, not an archive: the lists link to everything else.
KEYS_SHOWN = 50
EVENTS_SHOWN = 20


def overview(user: User) -> dict:
    keys = ApiKey.objects.filter(user=user).select_related("organization")
    return {
        "memberships": list(
            Membership.objects.filter(user=user)
            .select_related("organization")
            .order_by("organization__name")
        ),
        # Working keys first, then the newest.
        "keys": list(
            keys.order_by(F("revoked_at").desc(nulls_first=True), "-created_at", "-id")[:KEYS_SHOWN]
        ),
        "key_count": keys.count(),
        "grants": list(
            AuthorizedApp.objects.filter(user=user)
            .select_related("organization")
            .order_by(F("revoked_at").desc(nulls_first=True), "-created_at")
        ),
        "second_factors": list(Authenticator.objects.filter(user=user).order_by("created_at")),
        "sessions": list(UserSession.objects.filter(user=user).order_by("-last_seen_at")),
        "addresses": list(EmailAddress.objects.filter(user=user)),
        "events": list(
            AuditEvent.objects.filter(Q(actor=user) | Q(target_user=user))
            .select_related("organization", "actor")
            .order_by("-created_at", "-id")[:EVENTS_SHOWN]
        ),
    }
