"""When a dependency fails: what counts as "down", and logs that stay readable.

A database, Redis or mail server that is down fails every request that needs it, all at
once: a traceback per request buried the one line that mattered (5-16 MB of log in under
a minute). Here a fault of one kind is logged once, then at most once a minute with the
count of what was left out, and never with the request's secrets (no headers, no
bodies; a traceback only for the first of a kind that is a bug, not an outage).
"""

import logging
import re
import smtplib
import socket
import threading
import time

from django.db import InterfaceError, OperationalError

from infra import metrics
from infra.machine import is_machine_path

# The database could not be reached or answer (refused, dropped, timed out, read-only
# or locked); IntegrityError and the like are bugs or bad input, not outages.
# A network service that refuses, times out or can't be resolved (the mail server) is an
# outage too.
DEPENDENCY_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    ConnectionError,
    TimeoutError,
    socket.gaierror,
    smtplib.SMTPException,
)
REDIS_ERRORS: tuple[type[BaseException], ...] = ()
try:
    import redis.exceptions

    REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
    DEPENDENCY_ERRORS += REDIS_ERRORS
except ImportError:  # redis is installed with the project; be safe anyway
    pass


class ReadOnly(Exception):
    """The database answers but takes no writes (infra.readiness)."""


# Seconds a client is asked to wait while a dependency is down.
RETRY_AFTER_SECONDS = 5
REPORT_INTERVAL_SECONDS = 60

logger = logging.getLogger("infra.faults")


def is_dependency_error(error: BaseException | None) -> bool:
    return isinstance(error, DEPENDENCY_ERRORS)


def dependency_of(error: BaseException | None) -> str | None:
    """Which dependency failed, for the metrics: Django and redis-py raise their own types,
    so a bare network error (refused, timed out) is the mail server's, which smtplib
    lets through as it is."""
    if isinstance(error, (OperationalError, InterfaceError, ReadOnly)):
        return "database"
    if isinstance(error, REDIS_ERRORS):
        return "redis"
    if is_dependency_error(error):
        return "mail"
    return None


class _Reports:
    def __init__(self):
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._left_out: dict[str, int] = {}

    def due(self, kind: str) -> tuple[bool, int, bool]:
        """Whether to log this `kind` now, how many were left out since, and whether it is
        the first time."""
        now = time.monotonic()
        with self._lock:
            last = self._last.get(kind)
            if last is not None and now - last < REPORT_INTERVAL_SECONDS:
                self._left_out[kind] = self._left_out.get(kind, 0) + 1
                return False, 0, False
            self._last[kind] = now
            return True, self._left_out.pop(kind, 0), last is None

    def forget(self, kind: str) -> None:
        with self._lock:
            self._last.pop(kind, None)
            self._left_out.pop(kind, None)


_reports = _Reports()


def report(
    kind: str, message: str, error: BaseException | None = None, *, traceback: bool = False
) -> None:
    """Log a fault of `kind` once a minute at most: "kind: message (Error: text)", plus
    how many more there were meanwhile. An outage needs no traceback (its error says
    what failed); a bug does (`traceback=True`: the first of its kind carries it).
    Every dependency error is counted (infra.metrics), logged or not."""
    dependency = dependency_of(error)
    if dependency is not None:
        metrics.dependency_error(dependency)
    log_now, left_out, first = _reports.due(kind)
    if not log_now:
        return
    text = f"{kind}: {message}"
    if error is not None:
        detail = str(error).strip().splitlines()
        text += (
            f" ({type(error).__name__}: {detail[0][:200]})"
            if detail
            else f" ({type(error).__name__})"
        )
    if left_out:
        text += f"; {left_out} more since the last report"
    logger.warning(text, exc_info=error if traceback and first else None)


def recovered(kind: str, message: str) -> None:
    """A dependency answers again: say so once, and report its next fault afresh."""
    _reports.forget(kind)
    logger.warning("%s: %s", kind, message)


# Paths that carry a working secret: an invitation's link, a password-reset link.
SECRET_PATHS = re.compile(r"(/invitations/|/accounts/password/reset/key/)[^/\s]+")


def redact_secret_paths(record: logging.LogRecord) -> None:
    """django.request logs the path of every 4xx ("Forbidden: /invitations/<token>/"):
    the token goes, the kind of path stays."""
    if isinstance(record.msg, str):
        record.msg = SECRET_PATHS.sub(r"\1…", record.msg)
    if isinstance(record.args, tuple):
        record.args = tuple(
            SECRET_PATHS.sub(r"\1…", arg) if isinstance(arg, str) else arg for arg in record.args
        )


class RequestLog(logging.Filter):
    """For django.request, which logs every failed request: one that failed because a
    dependency is down, and the refusals at machine URLs (a 401 or 429 for each bad key
    of a flood), become one line per kind per minute, with the count; the rest pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_secret_paths(record)
        error = record.exc_info[1] if record.exc_info else None
        if is_dependency_error(error):
            report("Request failed, a dependency is down", record.getMessage(), error)
            return False
        status = getattr(record, "status_code", None)
        request = getattr(record, "request", None)
        if status == 503:
            # Answered on purpose while a dependency is down (its fault was reported).
            report("Unavailable (503)", record.getMessage())
            return False
        if status and 400 <= status < 500 and request and is_machine_path(request.path):
            report(f"Refused at machine URLs ({status})", record.getMessage())
            return False
        return True


class Condensed(logging.Filter):
    """For a library that logs every failure with its traceback (post_office's sender,
    once per try of each message): one line per kind of failure per minute, with the
    count, the first of a kind that is a bug with its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        error = record.exc_info[1] if record.exc_info else None
        kind = f"{record.name}: {type(error).__name__}" if error else record.name
        redact_secret_paths(record)
        report(kind, record.getMessage(), error, traceback=not is_dependency_error(error))
        return False
