"""The check of an OAuth access token at the MCP server: on every request, in one query,
exactly as for a key (apikeys.services.authenticate): the token's digest, not expired,
bound to this MCP server as its audience, its grant not revoked, its person active and
still a member of the grant's organization. Nothing is cached."""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from infra import faults
from infra.last_use import client_name, may_rename_client, valid_ip
from organizations import scopes as scopes_
from organizations.models import Membership

from .models import AuthorizedApp

LAST_USED_INTERVAL = timedelta(minutes=1)
MAX_TOKEN_LENGTH = 255  # ours are 30 characters; anything much longer is not one


@dataclass(frozen=True)
class GrantContext:
    """What a valid access token stands for, as of this request. The MCP tools read the
    same fields from it as from a key's context (apikeys.services.KeyContext)."""

    grant_id: int
    client_name: str
    created_at: datetime
    last_used_at: datetime | None
    last_used_client: str
    user_id: int
    user_email: str
    user_name: str
    organization_id: int
    organization_name: str
    organization_slug: str
    role: str
    scopes: frozenset  # effective: what was granted, within the person's current role

    @property
    def credential(self) -> str:
        return f"oauth:{self.grant_id}"

    # whoami (apikeys.shapes.Me) describes the credential; for a grant, that is the app.
    @property
    def key_name(self) -> str:
        return self.client_name

    key_hint = "OAuth"
    key_expires_at = None

    @property
    def key_created_at(self) -> datetime:
        return self.created_at


def digest(token: str) -> str:
    # django-oauth-toolkit's own lookup column (token_checksum): SHA-256 of the token.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@sensitive_variables("token")
def authenticate(token: object) -> GrantContext | None:
    """The grant behind an access token, or None for any token that must not work."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    role = Membership.objects.filter(
        user_id=OuterRef("user_id"), organization_id=OuterRef("organization_id")
    ).values("role")[:1]
    row = (
        AuthorizedApp.objects.filter(
            access_token__token_checksum=digest(token),
            access_token__expires__gt=timezone.now(),
            revoked_at__isnull=True,
            user__is_active=True,
        )
        .annotate(role=Subquery(role))
        .filter(role__isnull=False)
        .values_list(
            "pk",
            "client_name",
            "created_at",
            "last_used_at",
            "last_used_client",
            "user_id",
            "user__email",
            "user__name",
            "organization_id",
            "organization__name",
            "organization__slug",
            "role",
            "scopes",
            "access_token__resource",
        )
        .first()
    )
    if row is None:
        return None
    *fields, granted, resource = row
    # The audience: a token for anything but this MCP server is refused here.
    if settings.MCP_OAUTH_RESOURCE not in (resource or []):
        return None
    return GrantContext(*fields, scopes_.effective(granted, fields[-1]))


def record_use(grant: GrantContext, *, ip: str | None, user_agent: str, client_info) -> None:
    """When, from where and by what a grant was last used: at most one UPDATE a minute
    (a new client name is written at once, a few times a minute at most, as for keys),
    never at the cost of the answer."""
    now = timezone.now()
    client = client_name(client_info or "") or client_name(user_agent)
    due = grant.last_used_at is None or now - grant.last_used_at >= LAST_USED_INTERVAL
    if not due and (
        not client_info
        or client == grant.last_used_client
        or not may_rename_client(grant.credential)
    ):
        return
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_INTERVAL)
    if client_info:
        stale |= ~Q(last_used_client=client)
    try:
        AuthorizedApp.objects.filter(stale, pk=grant.grant_id).update(
            last_used_at=now, last_used_ip=valid_ip(ip), last_used_client=client
        )
    except DatabaseError as error:
        faults.report("Last use not recorded", "the database refused the write", error)
