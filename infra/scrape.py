"""/metrics: the counts of infra.metrics in Prometheus's text format, for whoever holds
METRICS_TOKEN, and what is measured when Prometheus asks (the mail queue, the build).

Off unless METRICS_TOKEN is set; then only `Authorization: Bearer <METRICS_TOKEN>` reads
it, and anything else is the JSON 404 of any unknown machine URL: nobody learns it is
there. With PROMETHEUS_MULTIPROC_DIR set, the answer adds up every process that wrote
there (prometheus-client's MultiProcessCollector): all the workers of the console and API
server and of the MCP server, as their units share the directory.
"""

import hashlib
import hmac
import os
import platform

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from post_office.models import STATUS, Email
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from infra import faults
from infra.machine import machine_error
from infra.version import VERSION

# A scrape waits this long for the database's answer at most (PostgreSQL's
# statement_timeout; SQLite in WAL mode never blocks a read).
QUEUE_QUERY_TIMEOUT_MS = 500


def queued_mail() -> int | None:
    """Notices waiting for the sender (django-post-office's queue), or None when the
    database doesn't say in time."""
    queued = Email.objects.filter(status=STATUS.queued)
    try:
        if connection.vendor != "postgresql":
            # SQLite: a read in WAL mode waits for nobody (a transaction here would take
            # the write lock: transaction_mode IMMEDIATE).
            return queued.count()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL statement_timeout = {QUEUE_QUERY_TIMEOUT_MS}")
            return queued.count()
    except DatabaseError as error:
        faults.report("Metrics", "the mail queue's depth is unknown", error)
        return None


class AtScrape:
    """A collector (prometheus-client's custom collector interface): what is measured
    when Prometheus asks rather than counted as it happens."""

    def collect(self):
        build = GaugeMetricFamily(
            "genesis_build_info",
            "The running version of Genesis Console (always 1).",
            labels=["version", "python"],
        )
        build.add_metric([VERSION, platform.python_version()], 1)
        yield build
        depth = queued_mail()
        if depth is not None:
            yield GaugeMetricFamily(
                "genesis_mail_queue_messages",
                "Notices queued for the mail sender (send_queued_mail), not yet sent.",
                value=depth,
            )


class ThisProcess:
    """This process's own metrics (no multiprocess directory: one process counts)."""

    def collect(self):
        return REGISTRY.collect()


def registry() -> CollectorRegistry:
    collected = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(collected)
    else:
        collected.register(ThisProcess())
    collected.register(AtScrape())
    return collected


def allowed(request) -> bool:
    """The token, compared in constant time (digests of equal length)."""
    token = settings.METRICS_TOKEN
    if not token:
        return False
    given = request.META.get("HTTP_AUTHORIZATION", "")
    expected = f"Bearer {token}"
    return hmac.compare_digest(
        hashlib.sha256(given.encode()).digest(), hashlib.sha256(expected.encode()).digest()
    )


# No cookies here: a CSRF refusal (403) would tell a stranger that something is.
@csrf_exempt
def metrics_view(request):
    # The token first: without it, even the wrong method learns nothing (404).
    if not allowed(request):
        return machine_error(request.path, 404)
    if request.method not in ("GET", "HEAD"):
        response = machine_error(request.path, 405)
        response["Allow"] = "GET, HEAD"
        return response
    response = HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
