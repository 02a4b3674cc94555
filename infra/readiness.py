"""Readiness for load balancers, and draining before a stop.

`/api/v1/health` is liveness: the process answers. `/api/v1/ready` is readiness: the
database (and Redis, where configured) answered within 100 ms, and the server has not
been told to stop. A stopping server keeps serving for `DRAIN_SECONDS` while it answers
503 here, so a balancer that polls it stops sending before the server closes its doors.

Told to stop by `manage.py drain` (what the systemd unit runs before it stops the
production server, granian, whose workers never see a SIGTERM of their own), which puts
the DRAIN_FILE in place and waits.
"""

import contextlib
import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.db import connection
from django_redis import get_redis_connection

from infra import faults

CHECK_TIMEOUT_SECONDS = 0.1

logger = logging.getLogger(__name__)

# The checks run on a thread of their own, with its own database connection, so that a
# database that hangs holds that one thread and never a request's.
_checker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="readiness")
_pending: Future | None = None
_pending_checks: dict[str, str] = {}
_pending_lock = threading.Lock()


def _expected() -> list[str]:
    return ["database", "redis"] if settings.REDIS_URL else ["database"]


def _check_dependencies(checks: dict[str, str]) -> None:
    """Fills `checks` as each answers, so that a caller who stops waiting knows which one
    didn't."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = "ok"
    except faults.DEPENDENCY_ERRORS as error:
        faults.report("Readiness", "the database is not answering", error)
        checks["database"] = "unavailable"
    finally:
        # Kept for the next check as CONN_MAX_AGE says, as a request's would be.
        connection.close_if_unusable_or_obsolete()
    if settings.REDIS_URL:
        try:
            # The client itself (django-redis's raw client access): the cache ignores
            # Redis's errors, and readiness must see them.
            get_redis_connection("default").ping()
            checks["redis"] = "ok"
        except faults.DEPENDENCY_ERRORS as error:
            faults.report("Readiness", "Redis is not answering", error)
            checks["redis"] = "unavailable"


def check() -> tuple[bool, dict]:
    """(ready, what to answer). Never waits more than about 100 ms."""
    global _pending, _pending_checks
    if settings.DRAIN_FILE and os.path.exists(settings.DRAIN_FILE):
        return False, {"status": "draining"}
    with _pending_lock:
        if _pending is None or _pending.done():
            _pending_checks = {}
            _pending = _checker.submit(_check_dependencies, _pending_checks)
        pending, checks = _pending, _pending_checks
    # Still waiting after that (a hung dependency): no answer in time is an answer.
    with contextlib.suppress(FutureTimeout):
        pending.result(timeout=CHECK_TIMEOUT_SECONDS)
    checks = {name: checks.get(name, "no answer in time") for name in _expected()}
    ready = all(value == "ok" for value in checks.values())
    return ready, {"status": "ok" if ready else "unavailable", "checks": checks}
