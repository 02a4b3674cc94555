"""What operators count (Prometheus, prometheus-client): key checks by surface and
outcome, request latency by surface, dependency errors. Read at /metrics (infra.scrape).

Several processes write them: granian's workers of the console and API server and those
of the MCP server. With PROMETHEUS_MULTIPROC_DIR set (the systemd units set it, one
directory for both servers, emptied when they start), prometheus-client's multiprocess
mode keeps each process's values in a file there and /metrics adds them all up; without
it, each process counts in its own memory (development, one process).

The counting is a few memory writes, never a round trip: the hooks below are safe on
every request's path and never raise.
"""

import contextvars
import logging

from django.conf import settings
from prometheus_client import Counter, Histogram

logger = logging.getLogger(__name__)

SURFACES = ("api", "mcp", "oauth")
OUTCOMES = ("ok", "forbidden", "refused", "throttled")
LATENCY_SURFACES = ("api", "mcp", "console", "oauth", "scim")
DEPENDENCIES = ("database", "redis", "mail")

KEY_CHECKS = Counter(
    "genesis_key_checks",
    "Credential checks (API keys; OAuth grants at the MCP server's OAuth path) by surface "
    "and outcome: ok (answered), forbidden (403 insufficient_scope), refused (401), "
    "throttled (429).",
    ["surface", "outcome"],
)
REQUEST_SECONDS = Histogram(
    "genesis_request_duration_seconds",
    "Time from a request's arrival in the app to its answer, by surface.",
    ["surface"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DEPENDENCY_ERRORS = Counter(
    "genesis_dependency_errors",
    "Failures of a dependency (the database, Redis, the mail server) as infra.faults saw "
    "them: every one, not only the ones logged.",
    ["dependency"],
)

# Every series exists from the start, at 0: a rate over a series that appears only with
# its first event misses that event.
for _surface in SURFACES:
    for _outcome in OUTCOMES:
        KEY_CHECKS.labels(_surface, _outcome)
for _surface in LATENCY_SURFACES:
    REQUEST_SECONDS.labels(_surface)
for _dependency in DEPENDENCIES:
    DEPENDENCY_ERRORS.labels(_dependency)


def _safely(count):
    """Bookkeeping never fails a request: a metric that can't be written (a full disk
    under the multiprocess directory) is logged, and the request goes on. Nothing is
    counted while /metrics is off (no METRICS_TOKEN): no one could read it."""

    def counted(*args):
        if not settings.METRICS_TOKEN:
            return
        try:
            count(*args)
        except Exception:
            logger.warning("Metric not counted", exc_info=True)

    counted.__doc__ = count.__doc__
    return counted


@_safely
def _key_check(surface: str, outcome: str) -> None:
    KEY_CHECKS.labels(surface, outcome).inc()


class Seen:
    """What the hooks learnt of the request being served, for its log line."""

    __slots__ = ("credential",)

    def __init__(self):
        self.credential: str | None = None


# Set for each request by infra.request_log; a holder, so that what a hook notes on a
# thread (the MCP server's verifier runs on one) reaches the request's log line.
seen: contextvars.ContextVar[Seen | None] = contextvars.ContextVar("genesis_seen", default=None)


def key_check(surface: str, outcome: str, credential: str | None = None) -> None:
    """One credential check on `surface` (api, mcp, oauth) with `outcome` (ok, forbidden,
    refused, throttled). `credential` (a credential's id, "apikey:12", never a secret),
    when known, goes into the request's log line (infra.request_log)."""
    _key_check(surface, outcome)
    request = seen.get()
    if credential is not None and request is not None:
        request.credential = credential


@_safely
def request_seconds(surface: str, seconds: float) -> None:
    REQUEST_SECONDS.labels(surface).observe(seconds)


@_safely
def dependency_error(dependency: str) -> None:
    DEPENDENCY_ERRORS.labels(dependency).inc()
