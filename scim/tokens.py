"""SCIM bearer tokens: made by an Owner (or `create_scim_token`), shown once, kept as an
HMAC digest with the API keys' own helpers (apikeys.keys), revocable, audited.

A token is `scim_` + a string in the API key format: the prefix tells people and
scanners what it is for, and the inner part keeps the key format's free checksum, so
garbage is refused before the database is asked."""

import hmac
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from apikeys import keys
from organizations import audit
from organizations.models import AuditAction, Organization, User

from .models import ScimToken

PREFIX = "scim_"
# last_used_at is written at most this often per token (a write per request would not be).
LAST_USED_RESOLUTION = timedelta(minutes=1)


@sensitive_variables()
def generate() -> str:
    return PREFIX + keys.generate()


@sensitive_variables()
def is_well_formed(raw: object) -> bool:
    return (
        isinstance(raw, str) and raw.startswith(PREFIX) and keys.is_well_formed(raw[len(PREFIX) :])
    )


@sensitive_variables()
def hint(raw: str) -> str:
    return f"{raw[: len(PREFIX) + len(keys.PREFIX) + 4]}…{raw[-4:]}"


@sensitive_variables()
@transaction.atomic
def create_token(
    organization: Organization, name: str, actor: User | None
) -> tuple[ScimToken, str]:
    """A new token for the organization: the row, and the token itself, returned this
    once and never kept."""
    raw = generate()
    pepper_id = keys.current_pepper_id()
    token = ScimToken.objects.create(
        organization=organization,
        name=name.strip(),
        hint=hint(raw),
        digest=keys.digest(raw, pepper_id),
        pepper_id=pepper_id,
        created_by=actor,
    )
    audit.record(
        organization.pk,
        AuditAction.SCIM_TOKEN_CREATED,
        actor_id=actor.pk if actor else None,
        target=f"{token.name} ({token.hint})",
    )
    return token, raw


@transaction.atomic
def revoke_token(token: ScimToken, actor: User | None) -> bool:
    """Whether this call revoked it (False: it was revoked already)."""
    revoked = ScimToken.objects.filter(pk=token.pk, revoked_at=None).update(
        revoked_at=timezone.now(), revoked_by=actor
    )
    if revoked:
        token.refresh_from_db(fields=["revoked_at", "revoked_by"])
        audit.record(
            token.organization_id,
            AuditAction.SCIM_TOKEN_REVOKED,
            actor_id=actor.pk if actor else None,
            target=f"{token.name} ({token.hint})",
        )
    return bool(revoked)


@sensitive_variables()
def authenticate(raw: str) -> ScimToken | None:
    """The unrevoked token of an open organization that `raw` is, in one query (plus a
    write of last_used_at at most once a minute); None for anything else, alike."""
    if not is_well_formed(raw):
        return None
    digests = keys.candidate_digests(raw)
    token = (
        ScimToken.objects.select_related("organization")
        .filter(
            digest__in=digests.values(),
            revoked_at=None,
            organization__closed_at=None,
        )
        .first()
    )
    # The digest matched under some pepper; it must be the one the token was made with.
    if token is None or not hmac.compare_digest(digests.get(token.pepper_id, ""), token.digest):
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ScimToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
