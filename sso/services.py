"""State changes of an organization's SSO connection: each in a transaction, audited,
never with the client secret in the log."""

import secrets

from allauth.socialaccount.models import SocialAccount, SocialApp
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from organizations import audit
from organizations.models import AuditAction, Membership, Organization, Role

from .models import Connection

PROVIDER = "openid_connect"
SAML = "saml"

# What allauth's saml provider enforces for every organization's IdP (its SocialApp's
# settings["advanced"]): strict checks (audience, destination, validity times), a signed
# assertion (python3-saml refuses an unsigned one, or one signed but altered), SHA-1 and
# other deprecated algorithms refused, and no IdP-initiated sign-in (a Response must
# answer an AuthnRequest this browser's session made: allauth keeps its ID once, so the
# same Response posted again is refused). Attributes are optional: the address may come
# as an emailAddress NameID.
SAML_ADVANCED = {
    "strict": True,
    "want_assertion_signed": True,
    "want_message_signed": False,
    "reject_deprecated_algorithm": True,
    "reject_idp_initiated_sso": True,
    "want_attribute_statement": False,
}
# Where allauth's saml provider finds the address, name and a stable id among the
# assertion's attributes (the names Okta, Entra ID, Google and Keycloak send). No
# "email verified" attribute: SAML has none, and the IdP an Owner connects is trusted to
# assert addresses at the organization's verified domains (sso.adapter).
SAML_ATTRIBUTES = {
    "uid": ["urn:oasis:names:tc:SAML:attribute:subject-id"],
    "email": [
        "urn:oid:0.9.2342.19200300.100.1.3",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
        "email",
    ],
    "name": [
        "urn:oid:2.16.840.1.113730.3.1.241",
        "http://schemas.microsoft.com/identity/claims/displayname",
        "displayName",
    ],
    "first_name": [
        "urn:oid:2.5.4.42",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
    ],
    "last_name": [
        "urn:oid:2.5.4.4",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
    ],
}


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


def describe(app: SocialApp) -> str:
    """The provider in a few words, for the audit log."""
    if app.provider == SAML:
        return f"SAML {app.settings.get('idp', {}).get('entity_id', '')}"
    return app.settings.get("server_url", "")


def sp_urls(app: SocialApp) -> dict:
    """What the Owner gives the IdP: our SP entity ID (allauth's SP metadata URL for this
    app), its metadata and its Assertion Consumer Service."""
    metadata = settings.PUBLIC_URL + reverse("saml_metadata", args=[app.client_id])
    return {
        "entity_id": metadata,
        "metadata": metadata,
        "acs": settings.PUBLIC_URL + reverse("saml_acs", args=[app.client_id]),
    }


def _new_app_id() -> str:
    # allauth's id for this app in its URLs (/accounts/oidc/<provider_id>/...,
    # /accounts/saml/<client_id>/...): never reused, so renaming the organization
    # changes no URL the IdP knows.
    return f"org-{secrets.token_hex(6)}"


@transaction.atomic
def save_saml(organization: Organization, *, idp: dict, metadata_url: str = "") -> Connection:
    """Connect the organization's SAML identity provider (sso.saml.idp_settings read its
    metadata), or change it. An organization has one connection: an OpenID one is
    removed first (sso.views says so)."""
    connection = connection_of(organization)
    if connection is not None and connection.app.provider != SAML:
        raise ConnectionError(_("Remove the OpenID Connect provider first."))
    values = {
        "idp": idp,
        "advanced": SAML_ADVANCED,
        "attribute_mapping": SAML_ATTRIBUTES,
        # Ours (allauth reads no such key): where the metadata came from, shown again.
        "metadata_url": metadata_url,
    }
    if connection is None:
        app_id = _new_app_id()
        app = SocialApp(provider=SAML, provider_id=app_id, client_id=app_id, name=organization.name)
        # Our entity ID is fixed at creation: the IdP knows it by this URL.
        app.settings = {**values, "sp": {"entity_id": sp_urls(app)["entity_id"]}}
        app.save()
        connection = Connection.objects.create(organization=organization, app=app)
        _record(organization, {"connected": describe(app)})
        return connection
    app = connection.app
    app.settings = {**app.settings, **values}
    app.save(update_fields=["settings"])
    _record(organization, {"changed": describe(app), "secret_replaced": False})
    return connection


@transaction.atomic
def save_oidc(
    organization: Organization, *, issuer: str, client_id: str, client_secret: str
) -> Connection:
    """Connect the organization's OpenID provider, or change it. An empty secret keeps
    the one stored (it is never shown again, only replaced)."""
    connection = connection_of(organization)
    if connection is not None and connection.app.provider != PROVIDER:
        raise ConnectionError(_("Remove the SAML identity provider first."))
    if connection is None:
        if not client_secret:
            raise ConnectionError(_("Enter the client secret."))
        app = SocialApp.objects.create(
            provider=PROVIDER,
            provider_id=_new_app_id(),
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
    _record(organization, {"disconnected": describe(app)})
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
