"""State changes of an organization's SSO connection: each in a transaction, audited,
never with the client secret in the log."""

import secrets

from allauth.socialaccount.models import SocialAccount, SocialApp
from django.db import transaction
from django.utils.translation import gettext as _

from organizations import audit
from organizations.models import AuditAction, Membership, Organization, Role

from .models import Connection

PROVIDER = "openid_connect"


class ConnectionError(Exception):
    pass


def connection_of(organization: Organization) -> Connection | None:
    return Connection.objects.filter(organization=organization).select_related("app").first()


def _record(organization: Organization, details: dict) -> None:
    audit.record(
        organization.pk,
        AuditAction.POLICY_CHANGED,
        target="Single sign-on",  # for readers of the raw row (admin)
        details={"policy": "sso", **details},
    )


@transaction.atomic
def save_oidc(
    organization: Organization, *, issuer: str, client_id: str, client_secret: str
) -> Connection:
    """Connect the organization's OpenID provider, or change it. An empty secret keeps
    the one stored (it is never shown again, only replaced)."""
    connection = connection_of(organization)
    if connection is None:
        if not client_secret:
            raise ConnectionError(_("Enter the client secret."))
        app = SocialApp.objects.create(
            provider=PROVIDER,
            # allauth's id for this app in its URLs (/accounts/oidc/<provider_id>/...):
            # never reused, so renaming the organization changes no callback URL.
            provider_id=f"org-{secrets.token_hex(6)}",
            name=organization.name,
            client_id=client_id,
            secret=client_secret,
            settings={"server_url": issuer},
        )
        connection = Connection.objects.create(organization=organization, app=app)
        _record(organization, {"connected": issuer})
        return connection
    app = connection.app
    app.client_id = client_id
    app.settings = {**app.settings, "server_url": issuer}
    fields = ["client_id", "settings"]
    if client_secret:
        app.secret = client_secret
        fields.append("secret")
    app.save(update_fields=fields)
    _record(organization, {"changed": issuer, "secret_replaced": bool(client_secret)})
    return connection


@transaction.atomic
def disconnect(connection: Connection) -> None:
    """Remove the provider; "Require SSO" goes with it (nobody could sign in). The links
    between people and the provider go too: a new provider starts afresh."""
    organization = connection.organization
    app = connection.app
    _record(organization, {"disconnected": app.settings.get("server_url", "")})
    connection.delete()
    SocialAccount.objects.filter(provider=app.provider_id).delete()
    app.delete()


@transaction.atomic
def set_require_sso(connection: Connection, required: bool, break_glass: Membership | None):
    """Whether members open the organization only through its SSO. The break-glass
    Owner (required with it) may still sign in with a password or a passkey."""
    if required and (break_glass is None or break_glass.role != Role.OWNER):
        raise ConnectionError(_("Choose the Owner who may still sign in without SSO."))
    if break_glass is not None and break_glass.organization_id != connection.organization_id:
        raise ConnectionError(_("Choose the Owner who may still sign in without SSO."))
    _record(
        connection.organization,
        {
            "require_sso": {"from": connection.require_sso, "to": required},
            "break_glass": break_glass.user.email if break_glass else None,
        },
    )
    connection.require_sso = required
    connection.break_glass = break_glass.user if break_glass else None
    connection.save(update_fields=["require_sso", "break_glass"])
    return connection


@transaction.atomic
def join_through_sso(organization: Organization, user) -> Membership:
    """Just-in-time membership: a person who signed in through the organization's SSO
    with an address at one of its verified domains joins as a Member (once)."""
    membership, created = Membership.objects.get_or_create(
        user=user, organization=organization, defaults={"role": Role.MEMBER}
    )
    if created:
        audit.record(
            organization.pk,
            AuditAction.MEMBER_ADDED,
            target_user_id=user.pk,
            target=user.email,
            details={"role": Role.MEMBER, "through": "sso"},
        )
    return membership
