"""What the console shows of keys' usage: one key's last 30 days (its usage page) and the
organization's (the overview for Admins and Owners): requests per day as chart series,
totals by surface and outcome, the busiest keys, the keys refused most, and stale keys.

One key's counts come from apikeys.usage.buckets, the read the API and the MCP tool
answer with; the organization's are the same rows summed over its keys, one query each."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import usage
from .key_management import USAGE_DAYS
from .models import ApiKey, KeyUsage, Outcome, Surface

# Unused this long (or never used), an active key is stale.
STALE_AFTER = timedelta(days=30)
# How many keys the busiest and the most refused lists name.
TOP_KEYS = 10


@dataclass(frozen=True)
class Series:
    """One colour of the chart: answered requests per surface, then each refusal."""

    id: str
    label: str
    surface: str | None  # None: both surfaces
    outcome: str


SERIES = (
    Series("api", _("API, answered"), Surface.API, Outcome.OK),
    Series("mcp", _("MCP, answered"), Surface.MCP, Outcome.OK),
    Series("forbidden", Outcome.FORBIDDEN.label, None, Outcome.FORBIDDEN),
    Series("refused", Outcome.REFUSED.label, None, Outcome.REFUSED),
    Series("throttled", Outcome.THROTTLED.label, None, Outcome.THROTTLED),
)


def series_of(surface: str, outcome: str) -> Series:
    for series in SERIES:
        if series.outcome == outcome and series.surface in (None, surface):
            return series
    raise ValueError(outcome)  # an outcome the model doesn't have


@dataclass
class Day:
    date: date
    counts: dict[str, int] = field(default_factory=dict)  # series id -> requests

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def cells(self) -> list[tuple[Series, int]]:
        """Each series and its count, in SERIES order (a table row)."""
        return [(series, self.counts.get(series.id, 0)) for series in SERIES]


@dataclass
class Usage:
    """The last USAGE_DAYS days of one key or of an organization."""

    days: list[Day]
    # outcome -> surface -> requests
    totals: dict[str, dict[str, int]]

    @property
    def total(self) -> int:
        return sum(day.total for day in self.days)

    def rows(self) -> list[dict]:
        """The totals as table rows: each outcome's label, per surface, and in all."""
        return [
            {
                "outcome": outcome,
                "label": label,
                "counts": [self.totals[outcome][surface] for surface in Surface.values],
                "total": sum(self.totals[outcome].values()),
            }
            for outcome, label in Outcome.choices
        ]

    def surface_totals(self) -> list[int]:
        return [sum(self.totals[o][surface] for o in Outcome.values) for surface in Surface.values]


def first_day(today: date | None = None) -> date:
    today = today or datetime.now(UTC).date()
    return today - timedelta(days=USAGE_DAYS - 1)


def summarize(buckets, today: date | None = None) -> Usage:
    """Usage from bucket rows ({date, surface, outcome, count}), every day of the period
    present (a day without requests is a zero, not a gap)."""
    start = first_day(today)
    days = {start + timedelta(days=n): Day(start + timedelta(days=n)) for n in range(USAGE_DAYS)}
    totals = {outcome: dict.fromkeys(Surface.values, 0) for outcome in Outcome.values}
    for row in buckets:
        day = days.get(row["date"])
        if day is None:
            continue  # written after `today` was read (midnight), or before the period
        series = series_of(row["surface"], row["outcome"]).id
        day.counts[series] = day.counts.get(series, 0) + row["count"]
        totals[row["outcome"]][row["surface"]] += row["count"]
    return Usage(list(days.values()), totals)


def key_usage(key: ApiKey) -> Usage:
    return summarize(usage.buckets(key.pk, USAGE_DAYS))


def organization_usage(keys: QuerySet) -> Usage:
    """The requests of `keys` (an organization's, maybe filtered), summed per day, surface
    and outcome: one query, however many keys."""
    rows = (
        KeyUsage.objects.filter(key__in=keys.values("pk"), date__gte=first_day())
        .values("date", "surface", "outcome")
        .annotate(requests=Sum("count"))
        .order_by()
    )
    return summarize(
        {
            "date": r["date"],
            "surface": r["surface"],
            "outcome": r["outcome"],
            "count": r["requests"],
        }
        for r in rows
    )


def _ranked(keys: QuerySet, requests: Q) -> list[ApiKey]:
    since = first_day()
    return list(
        keys.annotate(requests=Sum("usage__count", filter=Q(usage__date__gte=since) & requests))
        .filter(requests__gt=0)
        .select_related("user__service_account")
        .order_by("-requests", "-pk")[:TOP_KEYS]
    )


def busiest_keys(keys: QuerySet) -> list[ApiKey]:
    """The keys with the most requests of the period (any outcome), each with `requests`."""
    return _ranked(keys, Q())


def most_refused_keys(keys: QuerySet) -> list[ApiKey]:
    """The keys refused most often in the period (401: a revoked, expired or deleted
    secret, or an address outside the allowlist), each with `requests` refused."""
    return _ranked(keys, Q(usage__outcome=Outcome.REFUSED))


def stale_keys(keys: QuerySet, now: datetime | None = None) -> QuerySet:
    """Active keys unused for STALE_AFTER, or never used: the ones never used first, then
    the longest unused. "Used" is the key's last_used_at, which every answered request
    moves (at most a minute behind, like the usage counts), and, should the two ever
    disagree, a day with answered requests in the period counts as used too."""
    cutoff = (now or timezone.now()) - STALE_AFTER
    answered = KeyUsage.objects.filter(
        key_id=OuterRef("pk"), outcome=Outcome.OK, date__gt=cutoff.astimezone(UTC).date()
    )
    return (
        keys.active()
        .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=cutoff))
        .exclude(Exists(answered))
        .select_related("user__service_account")
        .order_by(F("last_used_at").asc(nulls_first=True), "created_at", "pk")
    )
