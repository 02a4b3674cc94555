"""django-oauth-toolkit's validator, with our rules: redirect URIs https or loopback,
each authorization code tied to the consent that made it (person, organization,
scopes), tokens tied to their grant, and a grant that must still be alive, its person
still a member, for a code or refresh token to be exchanged. A rotated refresh token
that comes back ends its grant (services.end_after_reuse)."""

import ipaddress
from urllib.parse import urlsplit

from django.utils import timezone
from oauth2_provider.models import get_refresh_token_model
from oauth2_provider.oauth2_validators import OAuth2Validator

from organizations.models import Membership

from . import services, tokens
from .models import AuthorizedApp, RevokeReason

LOOPBACK_NAMES = {"localhost"}


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_safe_redirect_uri(uri: str) -> bool:
    """https anywhere, http to this machine only (RFC 8252 loopback), or an app's own
    scheme (cursor://, vscode://), never a plain http page elsewhere; and nothing a
    browser reads differently from Python (credentials, backslashes, spaces, fragment)."""
    if any(char in uri for char in "\\ \t\r\n") or not uri.isprintable():
        return False
    parts = urlsplit(uri)
    if "@" in parts.netloc or parts.fragment:
        return False
    if parts.scheme == "http":
        return is_loopback(parts.hostname)
    return bool(parts.scheme)


def _alive(grant: AuthorizedApp | None) -> bool:
    """The grant is not revoked, its person active and still a member."""
    return (
        grant is not None
        and grant.revoked_at is None
        and grant.user.is_active
        and Membership.objects.filter(
            user_id=grant.user_id, organization_id=grant.organization_id
        ).exists()
    )


class GenesisValidator(OAuth2Validator):
    def validate_redirect_uri(self, client_id, redirect_uri, request, *args, **kwargs):
        return is_safe_redirect_uri(redirect_uri) and super().validate_redirect_uri(
            client_id, redirect_uri, request, *args, **kwargs
        )

    def _create_authorization_code(self, request, code, expires=None):
        stored = super()._create_authorization_code(request, code, expires)
        services.consent(
            user=request.user,
            organization=request.genesis_organization,
            application=request.client,
            scopes=request.scopes,
            redirect_uri=request.redirect_uri,
            code=stored,
        )
        return stored

    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        grant = (
            AuthorizedApp.objects.select_related("user")
            .filter(code_digest=tokens.digest(code), application=client)
            .first()
            if isinstance(code, str)
            else None
        )
        if not super().validate_code(client_id, code, client, request, *args, **kwargs):
            if grant is not None and grant.code_used_at is not None:
                # A used code came back: whoever holds it may hold its tokens too.
                services.revoke(grant, None, RevokeReason.CODE_REUSED)
            return False
        if grant is None:
            return False
        # One exchange only, even of several racing with the same code.
        claimed = AuthorizedApp.objects.filter(pk=grant.pk, code_used_at__isnull=True).update(
            code_used_at=timezone.now()
        )
        if not claimed:
            services.revoke(grant, None, RevokeReason.CODE_REUSED)
            return False
        request.genesis_grant_id = grant.pk
        return _alive(grant)

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            # Refused. A rotated token that comes back is theft until proven otherwise:
            # the toolkit has revoked its family, and the grant ends with it.
            reused = (
                get_refresh_token_model()
                .objects.filter(token_checksum=tokens.digest(refresh_token))
                .exclude(revoked__isnull=True)
                .values_list("token_family", flat=True)
                .first()
            )
            if reused:
                services.end_after_reuse(reused)
            return False
        family = request.refresh_token_instance.token_family
        grant = AuthorizedApp.objects.select_related("user").filter(token_family=family).first()
        return _alive(grant)

    def _create_access_token(self, expires, request, token, source_refresh_token=None):
        access_token = super()._create_access_token(expires, request, token, source_refresh_token)
        if source_refresh_token is not None:
            grants = AuthorizedApp.objects.filter(token_family=source_refresh_token.token_family)
        else:
            grants = AuthorizedApp.objects.filter(pk=request.genesis_grant_id)
        grants.update(access_token=access_token)
        return access_token

    def _create_refresh_token(self, request, refresh_token_code, access_token, previous):
        refresh_token = super()._create_refresh_token(
            request, refresh_token_code, access_token, previous
        )
        AuthorizedApp.objects.filter(access_token=access_token, token_family=None).update(
            token_family=refresh_token.token_family
        )
        return refresh_token
