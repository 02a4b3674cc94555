"""Readiness for load balancers, and draining before a stop.

`/api/v1/health` is liveness: the process answers. `/api/v1/ready` is readiness: the
database takes writes (and Redis, where configured, answers), and the server has not been
told to stop. A stopping server keeps serving for `DRAIN_SECONDS` while it answers 503
here, so a balancer that polls it stops sending before the server closes its doors.

Told to stop by `manage.py drain` (what the systemd unit runs before it stops the
production server, granian, whose workers never see a SIGTERM of their own), which puts
the DRAIN_FILE in place and waits.

Readiness never answers 500 and never waits long: the checks run on a thread of their
own, and a caller waits CHECK_TIMEOUT_SECONDS for them. A check that is merely slow (a
busy machine) answers with the last result while it is younger than STALE_SECONDS; one
that hangs past that is "no answer in time", an outage.
"""

import contextlib
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.db import connection
from django_redis import get_redis_connection

from infra import faults

CHECK_TIMEOUT_SECONDS = 0.1
STALE_SECONDS = 5

# The checks run on a thread of their own, with its own database connection, so that a
# database that hangs holds that one thread and never a request's.
_checker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="readiness")
_lock = threading.Lock()
_pending: Future | None = None
_pending_checks: dict[str, str] = {}
_last: tuple[float, dict[str, str]] | None = None  # when, and what, the last check answered


def _expected() -> list[str]:
    return ["database", "redis"] if settings.REDIS_URL else ["database"]


def _database() -> None:
    """The database answers and takes writes: a write transaction begun and rolled back
    (a read-only SQLite file, or a PostgreSQL that fails over to a read-only replica,
    answers reads and refuses every write)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # A write that changes nothing, rolled back: SQLite refuses it on a file it
            # opened read-only (taking the write lock alone succeeds there).
            cursor.execute("PRAGMA user_version")
            version = int(cursor.fetchone()[0])
            cursor.execute("BEGIN IMMEDIATE")
            try:
                cursor.execute(f"PRAGMA user_version = {version}")
            finally:
                cursor.execute("ROLLBACK")
        else:
            cursor.execute("SELECT NOT pg_is_in_recovery()")
            if not cursor.fetchone()[0]:
                raise faults.ReadOnly("the database is a read-only replica")


def _redis() -> None:
    # The rate limits' Redis itself (django-redis's documented client).
    get_redis_connection("limits").ping()


def _run(name: str, check, checks: dict[str, str]) -> None:
    try:
        check()
        checks[name] = "ok"
    except Exception as error:
        # An outage is logged as one (once a minute); anything else is a bug, with its
        # traceback, and still an answer, never a 500.
        outage = faults.is_dependency_error(error) or isinstance(error, faults.ReadOnly)
        faults.report("Readiness", f"{name} unavailable", error, traceback=not outage)
        checks[name] = "unavailable"


def _check_dependencies(checks: dict[str, str]) -> None:
    """Fills `checks` as each answers, so that a caller who stops waiting knows which one
    didn't."""
    global _last
    try:
        _run("database", _database, checks)
    finally:
        # A connection that failed is replaced before the next check; one that works is
        # kept as CONN_MAX_AGE says, as a request's would be.
        connection.close_if_unusable_or_obsolete()
        if checks.get("database") != "ok":
            connection.close()
    if settings.REDIS_URL:
        _run("redis", _redis, checks)
    _last = (time.monotonic(), dict(checks))


def check() -> tuple[bool, dict]:
    """(ready, what to answer). Never waits more than about CHECK_TIMEOUT_SECONDS."""
    global _pending, _pending_checks
    if settings.DRAIN_FILE and os.path.exists(settings.DRAIN_FILE):
        return False, {"status": "draining"}
    with _lock:
        if _pending is None or _pending.done():
            _pending_checks = {}
            _pending = _checker.submit(_check_dependencies, _pending_checks)
        pending, checks = _pending, _pending_checks
    with contextlib.suppress(FutureTimeout):
        pending.result(timeout=CHECK_TIMEOUT_SECONDS)
    if not pending.done() and _last is not None and time.monotonic() - _last[0] < STALE_SECONDS:
        checks = _last[1]  # slow, not down: the last answer, still fresh
    checks = {name: checks.get(name, "no answer in time") for name in _expected()}
    ready = all(value == "ok" for value in checks.values())
    return ready, {"status": "ok" if ready else "unavailable", "checks": checks}
