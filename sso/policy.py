"""Which organizations' SSO a session came through, and what "Require SSO" holds back
without it: opening the organization (except for its break-glass Owner), and creating or
rolling a key in it (for everyone). Keys themselves, and service accounts, are untouched."""

from importlib import import_module

from allauth.usersessions.models import UserSession
from django.conf import settings

from organizations.models import Membership, Role

from .models import Connection

# Ours, in the session: the ids of the organizations whose SSO this session signed in
# through (sso.signals, on allauth's user_logged_in).
SESSION_KEY = "sso_organizations"


def record(request, organization_id: int) -> None:
    came = [pk for pk in request.session.get(SESSION_KEY, []) if pk != organization_id]
    request.session[SESSION_KEY] = [*came, organization_id]


def end_sessions_through(user_id: int, organization_id: int) -> int:
    """End the person's sessions that came through the organization's SSO (its identity
    provider vouched for them, and by removing the member no longer does); their other
    sessions stay. Returns how many ended."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    ended = 0
    for user_session in UserSession.objects.filter(user_id=user_id):
        if organization_id in store(session_key=user_session.session_key).get(SESSION_KEY, []):
            user_session.end()
            ended += 1
    return ended


def came_through(request, organization_id: int) -> bool:
    return organization_id in request.session.get(SESSION_KEY, [])


def required_connection(organization_id: int) -> Connection | None:
    """The organization's connection when it requires SSO, else None."""
    return (
        Connection.objects.filter(organization_id=organization_id, require_sso=True)
        .select_related("app", "organization")
        .first()
    )


def blocked_membership(request, slug: str) -> Membership | None:
    """The signed-in person's membership of the organization `slug` when that
    organization requires SSO and this session didn't come through it (its break-glass
    Owner excepted); else None. One query."""
    membership = (
        Membership.objects.filter(
            user_id=request.user.pk,
            organization__slug=slug,
            organization__sso_connection__require_sso=True,
        )
        .select_related("organization__sso_connection__app")
        .first()
    )
    if membership is None or came_through(request, membership.organization_id):
        return None
    # Only while they are still an Owner here: a demoted break-glass Owner is a member.
    if (
        membership.organization.sso_connection.break_glass_id == request.user.pk
        and membership.role == Role.OWNER
    ):
        return None
    return membership


def keys_blocked(request, membership) -> Connection | None:
    """The connection whose SSO this session must come through before it creates or
    rolls a key in the membership's organization (the break-glass Owner too: a key made
    outside the company's sign-in is what the policy is there to stop); else None."""
    connection = required_connection(membership.organization_id)
    if connection is None or came_through(request, membership.organization_id):
        return None
    return connection


def credentials_blocked(request, organization_ids) -> set[int]:
    """Of these organizations, those where this session may not mint a lasting credential
    (an OAuth grant, a SCIM token), as keys_blocked rules for keys: they require SSO and
    the session didn't come through it. One query."""
    required = Connection.objects.filter(
        organization_id__in=list(organization_ids), require_sso=True
    ).values_list("organization_id", flat=True)
    return {pk for pk in required if not came_through(request, pk)}
