"""Slow down key guessing: a client IP with too many failed key checks in a minute is
refused (429) on every key-authenticated request until that minute is over.

Counts live in Django's cache: local memory by default (per process), Redis in production
so every worker shares them. A fixed one-minute window costs one cache read per request.
"""

import time

from django.core.cache import cache

FAILURE_LIMIT = 20
WINDOW_SECONDS = 60

# What windows are measured by (tests pin it: counts reset at each clock minute).
clock = time.time


def _window() -> tuple[str, int]:
    now = clock()
    start = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
    return str(start), max(1, int(start + WINDOW_SECONDS - now + 0.999))


def _cache_key(ip: str, window: str) -> str:
    return f"apikey-failures:{window}:{ip}"


def retry_after(ip: str) -> int:
    """Seconds this IP must wait before its keys are checked again; 0 when it may go on."""
    window, remaining = _window()
    failures = cache.get(_cache_key(ip, window), 0)
    return remaining if failures > FAILURE_LIMIT else 0


def count(key: str, timeout: int) -> int:
    """Add one to the cache counter `key` (made, expiring in `timeout` seconds, if it
    isn't there) and return it."""
    # add() is a no-op when the counter exists; incr() is atomic in Redis and locmem.
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=timeout)
        return 1


def record_failure(ip: str) -> None:
    window, remaining = _window()
    count(_cache_key(ip, window), timeout=remaining + 1)
