"""Every change to a grant: consent, revocation (by its person, an Admin, member removal,
deactivation) and the end of a grant whose used refresh token came back. Views, the
admin, the token validator and the member-removal receiver all come here."""

import hashlib
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import get_refresh_token_model

from organizations import audit
from organizations import scopes as scopes_
from organizations.models import AuditAction, Organization, User

from .models import AuthorizedApp, RevokeReason


def redirect_host(redirect_uri: str) -> str:
    """Where the client sends the person back, as the consent page and the lists name it:
    the host (and port), or the scheme of an app's own link (cursor://...)."""
    parts = urlsplit(redirect_uri)
    return parts.netloc or f"{parts.scheme}:"


def consent(
    *, user: User, organization: Organization, application, scopes, redirect_uri: str, code
) -> AuthorizedApp:
    """Record a person's consent, with the authorization code it produced (the grant
    becomes active when the client exchanges the code for tokens)."""
    grant = AuthorizedApp.objects.create(
        user=user,
        organization=organization,
        application=application,
        client_name=application.name or application.client_id,
        redirect_host=redirect_host(redirect_uri),
        scopes=scopes_.serialize(scopes),
        code=code,
        code_digest=hashlib.sha256(code.code.encode()).hexdigest(),
    )
    audit.record(
        organization.pk,
        AuditAction.APP_AUTHORIZED,
        actor_id=user.pk,
        target_user_id=user.pk,
        target=grant.client_name,
        details={"scopes": grant.scopes, "redirect_host": grant.redirect_host},
    )
    return grant


def _end_tokens(grants) -> None:
    """Delete the grants' access tokens and revoke their refresh tokens."""
    RefreshToken = get_refresh_token_model()
    families = [family for family in grants.values_list("token_family", flat=True) if family]
    for family in families:
        RefreshToken.revoke_family(family)
    for grant in grants.select_related("access_token"):
        if grant.access_token is not None:
            grant.access_token.revoke()


def revoke(grant: AuthorizedApp, actor: User | None, reason: str) -> bool:
    """Revoke one grant: its tokens stop working on the next request. False if it was
    revoked already."""
    with transaction.atomic():
        rows = AuthorizedApp.objects.filter(pk=grant.pk, revoked_at__isnull=True)
        if not rows.update(revoked_at=timezone.now(), revoke_reason=reason):
            return False
        _end_tokens(AuthorizedApp.objects.filter(pk=grant.pk))
        audit.record(
            grant.organization_id,
            AuditAction.APP_REVOKED,
            actor_id=actor.pk if actor else None,
            target_user_id=grant.user_id,
            target=grant.client_name,
            details={"reason": reason},
        )
    return True


def revoke_member_grants(user_id: int, organization_id: int | None, reason: str) -> int:
    """Revoke every grant a person gave in an organization (in all: None), one audit event
    per grant; called inside the transaction that removes the member."""
    grants = AuthorizedApp.objects.filter(user_id=user_id, revoked_at__isnull=True)
    if organization_id is not None:
        grants = grants.filter(organization_id=organization_id)
    ended = list(grants.values_list("pk", "organization_id", "client_name"))
    if not ended:
        return 0
    _end_tokens(grants)
    AuthorizedApp.objects.filter(pk__in=[pk for pk, _, _ in ended]).update(
        revoked_at=timezone.now(), revoke_reason=reason
    )
    for _, org_id, name in ended:
        audit.record(
            org_id,
            AuditAction.APP_REVOKED,
            target_user_id=user_id,
            target=name,
            details={"reason": reason},
        )
    return len(ended)


def end_after_reuse(token_family) -> None:
    """A refresh token that was already rotated came back: someone else may hold it.
    django-oauth-toolkit revokes the family's tokens; the grant ends with them."""
    grant = AuthorizedApp.objects.filter(token_family=token_family).first()
    if grant is not None:
        revoke(grant, None, RevokeReason.TOKEN_REUSED)
