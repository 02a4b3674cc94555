"""Usage per grant (authorized app), counted like keys' (apikeys.usage, with the same
infra.daily_counts machinery): how many requests presented its access tokens per day
(UTC), by surface and outcome. A refused token is counted against its grant while the
token is still stored (expired, or its person removed or deactivated; a revoked grant's
tokens are deleted, so nothing tells them apart from a random string); one query, on
the refusal path only."""

from datetime import UTC, date, datetime, timedelta

from django.db.models import IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.views.decorators.debug import sensitive_variables

from infra.daily_counts import DailyCounts

from .models import AuthorizedApp, GrantUsage
from .tokens import MAX_TOKEN_LENGTH, digest

# The console's column: requests in this many days, today included.
RECENT_DAYS = 30

counts = DailyCounts(GrantUsage, "grant")


def count(grant_id: int, surface: str, outcome: str) -> None:
    """Count one request, in memory only (no I/O: safe on the event loop)."""
    counts.add(grant_id, surface, outcome)


def write_due() -> None:
    counts.write_due()


def flush() -> None:
    counts.flush()


def _well_formed(token: object) -> bool:
    return isinstance(token, str) and 0 < len(token) <= MAX_TOKEN_LENGTH


@sensitive_variables("token")
def refused(token: object, surface: str) -> None:
    """An access token refused with 401: counted against its grant, if it still has one."""
    if _well_formed(token):
        checksum = digest(token)
        grants = AuthorizedApp.objects.filter(access_token__token_checksum=checksum)
        counts.count_refused([checksum], surface, grants.values_list("pk", flat=True).first)
    write_due()


@sensitive_variables("token")
def throttled(token: object, surface: str) -> None:
    """A request refused with 429 before its token was checked: counted against the grant
    if this worker refused the token before (no query)."""
    if _well_formed(token):
        counts.count_throttled([digest(token)], surface)
    write_due()


def with_recent_requests(grants):
    """Each grant with `recent_requests`: its requests in the last RECENT_DAYS days (UTC),
    whatever became of them, in the same query."""
    since = datetime.now(UTC).date() - timedelta(days=RECENT_DAYS - 1)
    total = (
        GrantUsage.objects.filter(grant=OuterRef("pk"), date__gte=since)
        .values("grant")
        .annotate(total=Sum("count"))
        .values("total")
    )
    return grants.annotate(
        recent_requests=Coalesce(Subquery(total), Value(0), output_field=IntegerField())
    )


def prune(cutoff: date) -> int:
    """Delete the counts from before `cutoff`; how many rows went."""
    deleted, _ = GrantUsage.objects.filter(date__lt=cutoff).delete()
    return deleted
