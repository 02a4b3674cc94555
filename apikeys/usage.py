"""Usage per key: how many requests presented each key, per day (UTC), by surface (api,
mcp) and outcome (ok, forbidden, refused, throttled), for its owner and the organization's
Admins (apikeys.key_management) and kept USAGE_RETENTION_DAYS (`manage.py prune_usage`).

Counting costs a valid request no round trip: each worker process counts in its own
memory, and writes what it counted in one upsert (every key's counts in the same
statement, adding to what is stored) at the first key check a minute or more after its
last write, and when it stops where the server says so (the MCP server's ASGI lifespan).
Not at interpreter exit: an atexit write held granian's WSGI workers past their graceful
stop (the tests saw them killed). So what is stored is about a minute behind, a worker
that crashes (or a WSGI worker that stops: no hook) loses at most its last minute, and a
worker that gets no request after a burst writes it when it next checks a key.
Bookkeeping is best-effort: a write the database refuses is logged (infra.faults) and
dropped, never the request's failure.

A refused key is counted against the key whose digest it is, revoked, deleted, expired,
its owner gone or deactivated alike (one query, on the refusal path only). A throttled
request is never looked up (a flood must not reach the database): it counts against a
key this worker refused before and still remembers (infra.daily_counts), else nowhere.
"""

import time
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from infra.daily_counts import WRITE_SECONDS, DailyCounts  # noqa: F401 (the tests' minute)
from oauth import usage as grant_usage

from . import keys
from .models import ApiKey, KeyUsage


class Counts(DailyCounts):
    """One worker's key counts not yet written, and the digests of keys it refused
    (infra.daily_counts)."""

    def __init__(self, clock=time.time):
        super().__init__(KeyUsage, "key", clock)


counts = Counts()


def count(key_id: int, surface: str, outcome: str) -> None:
    """Count one request, in memory only (no I/O: safe on the event loop). The next
    `record` in this worker writes it when due."""
    counts.add(key_id, surface, outcome)


def record(key_id: int, surface: str, outcome: str) -> None:
    """Count one request, and write this worker's counts if a minute has passed since it
    last did (synchronous code only: it may query)."""
    counts.add(key_id, surface, outcome)
    write_due()


@sensitive_variables("raw_key")
def refused(raw_key: object, surface: str) -> None:
    """A key refused with 401: counted against the key it is, if it is one (revoked,
    deleted, expired, its owner removed or deactivated, outside its allowlist). One query;
    none for a malformed key."""
    if keys.is_well_formed(raw_key):
        digests = list(keys.candidate_digests(raw_key).values())
        keys_ = ApiKey.objects.filter(digest__in=digests).values_list("pk", flat=True)
        counts.count_refused(digests, surface, keys_.first)
    write_due()


@sensitive_variables("raw_key")
def throttled(raw_key: object, surface: str) -> None:
    """A request refused with 429 before its key was checked: counted against the key if
    this worker refused it before (no query; it may write what is due, like `record`)."""
    if keys.is_well_formed(raw_key):
        counts.count_throttled(keys.candidate_digests(raw_key).values(), surface)
    write_due()


def write_due() -> None:
    counts.write_due()


def flush() -> None:
    """Write every count now: a worker that stops (mcp_server.app's lifespan)."""
    counts.flush()


def buckets(key_id: int, days: int) -> list[dict]:
    """The key's stored counts of the last `days` days (UTC, today included), oldest
    first; days without requests are left out."""
    since = datetime.now(UTC).date() - timedelta(days=days - 1)
    rows = KeyUsage.objects.filter(key_id=key_id, date__gte=since).order_by(
        "date", "surface", "outcome"
    )
    return list(rows.values("date", "surface", "outcome", "count"))


def prune(today: date | None = None) -> int:
    """Delete the counts older than USAGE_RETENTION_DAYS; how many rows went."""
    today = today or datetime.now(UTC).date()
    cutoff = today - timedelta(days=settings.USAGE_RETENTION_DAYS - 1)
    deleted, _ = KeyUsage.objects.filter(date__lt=cutoff).delete()
    return deleted + grant_usage.prune(cutoff)
