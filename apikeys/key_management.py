"""Key management for programs: what the API's /keys endpoints and the MCP server's key
tools do, on behalf of a checked key (its KeyContext), through the same services and
access rules as the console. Nothing here makes a key or returns a secret."""

from dataclasses import dataclass

from django.db.models import Q

from organizations import scopes
from organizations.models import User

from . import services, usage
from .models import ApiKey

MAX_PAGE = 100
MAX_OFFSET = 1_000_000  # past any real list; a bigger number overflowed the database
MAX_ID = 2**63 - 1  # past any row, and past what the databases' integers hold


class NotFound(Exception):
    """No such key for this caller (someone else's, another organization's, or gone)."""


class BadDays(Exception):
    """A usage period that isn't a whole number of days from 1 to USAGE_MAX_DAYS."""


# Usage periods: the default, and the longest asked for at once.
USAGE_DAYS = 30
USAGE_MAX_DAYS = 90


@dataclass(frozen=True)
class Page:
    count: int
    items: list[ApiKey]


def _actor(context: services.KeyContext) -> User:
    # The key's owner, as the services record who acted (and the revoke notice names).
    return User.objects.get(pk=context.user_id)


def my_keys(context: services.KeyContext) -> list[ApiKey]:
    return list(
        ApiKey.objects.active().filter(
            user_id=context.user_id, organization_id=context.organization_id
        )
    )


def delete_mine(context: services.KeyContext, key_id: int) -> None:
    key = (
        ApiKey.objects.active()
        .filter(pk=key_id, user_id=context.user_id, organization_id=context.organization_id)
        .first()
    )
    if key is None or not services.delete_key(key, _actor(context)):
        raise NotFound


def organization_keys(
    context: services.KeyContext, *, member: str = "", name: str = "", limit=50, offset=0
) -> Page:
    """The organization's active keys, newest first, for a key with org:admin (whose
    owner is an Admin or Owner right now: scopes.effective saw to that)."""
    assert scopes.ORG_ADMIN in context.scopes  # noqa: S101 (the callers check the scope)
    rows = ApiKey.objects.active().filter(organization_id=context.organization_id)
    member, name = member[:254], name[:100]  # an email's longest, a key name's longest
    if "\x00" in member or "\x00" in name:
        # No name or address holds a NUL (forms refuse one, PostgreSQL can't store one),
        # so nothing matches; PostgreSQL would refuse the query itself.
        return Page(0, [])
    if member:
        rows = rows.filter(Q(user__name__icontains=member) | Q(user__email__icontains=member))
    if name:
        rows = rows.filter(name__icontains=name)
    limit = max(1, min(int(limit), MAX_PAGE))
    offset = max(0, min(int(offset), MAX_OFFSET))
    rows = rows.with_owner_role().select_related("user__service_account", "created_by")
    return Page(rows.count(), list(rows[offset : offset + limit]))


def revoke(context: services.KeyContext, key_id: int) -> None:
    assert scopes.ORG_ADMIN in context.scopes  # noqa: S101
    key = (
        ApiKey.objects.active()
        .select_related("user")
        .filter(pk=key_id, organization_id=context.organization_id)
        .first()
    )
    if key is None or not services.revoke_key(key, _actor(context)):
        raise NotFound


def usage_days(days: int) -> int:
    """A usage period (a tool's argument; the API's schema bounds its own), or BadDays."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= USAGE_MAX_DAYS:
        raise BadDays
    return days


def _usage(keys, key_id: int, days) -> dict:
    days = usage_days(days)
    if not 0 < key_id <= MAX_ID or not keys.filter(pk=key_id).exists():
        raise NotFound
    return {"key_id": key_id, "buckets": usage.buckets(key_id, days)}


def my_key_usage(context: services.KeyContext, key_id: int, days=USAGE_DAYS) -> dict:
    """The usage of one of the caller's keys in this organization (revoked ones too: who
    still presents an old secret is the point), as the API and the MCP tool answer it."""
    mine = ApiKey.objects.filter(user_id=context.user_id, organization_id=context.organization_id)
    return _usage(mine, key_id, days)


def organization_key_usage(context: services.KeyContext, key_id: int, days=USAGE_DAYS) -> dict:
    """The usage of any key of the organization, revoked ones too, for org:admin."""
    assert scopes.ORG_ADMIN in context.scopes  # noqa: S101
    return _usage(ApiKey.objects.filter(organization_id=context.organization_id), key_id, days)
