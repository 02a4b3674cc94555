"""Rate limits, one mechanism for all of them: a count per window of the clock (a minute,
an hour) for each name and who (a client address, a key, a grant), in the cache. The
rates are settings.RATE_LIMITS, "count/period"; the clock is `clock` (tests pin it).

The counts are advisory: a key's safety rests on its 190 random bits, not on counting
guesses. With REDIS_URL they live in Redis, shared by every worker and host; Redis that
fails (refused, or no answer within its socket timeout, settings.CACHES) never fails or
holds up a request: this process counts in local memory for RETRY_SECONDS (each worker
on its own), logs the outage once, and tries Redis again after that.
"""

import functools
import threading
import time
from dataclasses import dataclass

import redis.exceptions
from django.conf import settings
from django.core.cache import caches

from . import faults

# What windows are measured by: tests pin it, so counts never straddle a window's end.
clock = time.time

# How long a process counts on its own after Redis failed, before it tries Redis again.
RETRY_SECONDS = 5

PERIODS = {"s": 1, "m": 60, "h": 3600}


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int


@functools.cache
def parse(text: str) -> Rate:
    """ "20/m" -> Rate(20, 60); raises ValueError for anything else (settings check it)."""
    count, _, period = text.partition("/")
    if period not in PERIODS or not count.isdigit():
        raise ValueError(f"a rate is written count/period (s, m or h), not {text!r}")
    return Rate(int(count), PERIODS[period])


def rate(name: str) -> Rate:
    return parse(settings.RATE_LIMITS[name])


class _Outage:
    """Whether this process counts without the shared cache for now."""

    def __init__(self):
        self.lock = threading.Lock()
        self.retry_at = 0.0  # monotonic time before which the shared cache is not asked
        self.since: float | None = None

    def began(self, error) -> None:
        with self.lock:
            now = time.monotonic()
            self.retry_at = now + RETRY_SECONDS
            if self.since is None:
                self.since = now
        faults.report("Redis", "not answering; counting in this process until it does", error)

    def ended(self) -> None:
        with self.lock:
            since, self.since = self.since, None
        if since is not None:
            faults.recovered("Redis", f"answering again after {time.monotonic() - since:.0f} s")


_outage = _Outage()


def _call(operation):
    """`operation(cache)` on the shared cache, or on this process's own while it fails."""
    if time.monotonic() < _outage.retry_at:
        return operation(caches["local"])
    try:
        result = operation(caches["limits"])
    # Also a Redis that answers with an error (read-only after a failover, out of memory):
    # the limits are advisory, so any Redis error means counting here for a while.
    except (*faults.DEPENDENCY_ERRORS, redis.exceptions.RedisError) as error:
        _outage.began(error)
        return operation(caches["local"])
    if _outage.since is not None:
        _outage.ended()
    return result


def _window(rate_: Rate) -> tuple[str, int]:
    """The current window's start, and the whole seconds left in it."""
    now = clock()
    start = int(now // rate_.seconds) * rate_.seconds
    return str(start), max(1, int(start + rate_.seconds - now + 0.999))


def _key(name: str, who: str, window: str) -> str:
    return f"limit:{name}:{window}:{who}"


def _increment(cache, key: str, timeout: int) -> int:
    # add() is a no-op when the counter exists; incr() is atomic in Redis and locmem.
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=timeout)
        return 1


def hit(name: str, who: str) -> bool:
    """Count one for `who` under the rate `name`; whether it is within the rate."""
    rate_ = rate(name)
    window, remaining = _window(rate_)
    key = _key(name, who, window)
    count = _call(lambda cache: _increment(cache, key, remaining + 1))
    return count <= rate_.count


def retry_after(name: str, who: str) -> int:
    """Seconds until `who` is within the rate `name` again (0: it is now), without
    counting."""
    rate_ = rate(name)
    window, remaining = _window(rate_)
    key = _key(name, who, window)
    count = _call(lambda cache: cache.get(key, 0))
    return remaining if count > rate_.count else 0
