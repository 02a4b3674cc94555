"""Django's Redis cache backend, made for a cache that may fail: short timeouts, a local
stand-in while Redis doesn't answer, and one redis-py client per connection pool.

What uses it: the failed-key throttle's counters (apikeys.throttle). They are advisory:
a key's safety rests on its 190 random bits, not on counting guesses. So a Redis that is
down or frozen must never fail or hold up a key check: every call gets 250 ms at most,
and a failed one sends this process to its own local-memory counts for a few seconds
(each worker then counts on its own) before Redis is tried again. One log line per
outage, one when it answers again; no restart needed.

Django's backend also builds a new redis-py client for every cache call, and redis-py 7
takes about 60 µs to build one: as long as half a loopback round trip, on every API and
MCP request. A client is safe to share between threads (each command borrows a
connection from the pool), so one per pool does.
"""

import threading
import time

from django.core.cache.backends import redis as django_redis
from django.core.cache.backends.locmem import LocMemCache

from genesis import faults

TIMEOUT_SECONDS = 0.25
# How long a process counts locally after Redis failed, before it tries Redis again.
RETRY_SECONDS = 5


class _OneClientPerPool(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:  # two threads may both build one; either will do
            client = self._clients[index] = super().get_client(key, write=write)
        return client


class _Outage:
    """Whether this process is counting without Redis for now. One per Redis location,
    shared by the cache's instances (Django makes one per thread)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.retry_at = 0.0  # monotonic time before which Redis is not asked
        self.since = None

    def began(self) -> None:
        with self.lock:
            now = time.monotonic()
            self.retry_at = now + RETRY_SECONDS
            if self.since is None:
                self.since = now

    def ended(self) -> float | None:
        """How long it lasted, if there was one."""
        with self.lock:
            since, self.since = self.since, None
        return None if since is None else time.monotonic() - since


_outages: dict[str, _Outage] = {}


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        options = {
            "socket_connect_timeout": TIMEOUT_SECONDS,
            "socket_timeout": TIMEOUT_SECONDS,
            **params.get("OPTIONS", {}),
        }
        super().__init__(server, {**params, "OPTIONS": options})
        self._class = _OneClientPerPool
        # Local memory caches of one name share their store in the process.
        location = self._servers[0]
        self._stand_in = LocMemCache(
            f"redis-stand-in:{location}", {"TIMEOUT": self.default_timeout}
        )
        self._outage = _outages.setdefault(location, _Outage())

    def _call(self, name, *args, **kwargs):
        if time.monotonic() < self._outage.retry_at:
            return getattr(self._stand_in, name)(*args, **kwargs)
        try:
            result = getattr(super(), name)(*args, **kwargs)
        except faults.DEPENDENCY_ERRORS as error:
            self._outage.began()
            faults.report("Redis", "not answering; counting in this process until it does", error)
            return getattr(self._stand_in, name)(*args, **kwargs)
        if self._outage.since is not None and (lasted := self._outage.ended()) is not None:
            faults.recovered("Redis", f"answering again after {lasted:.0f} s")
        return result


def _resilient(name):
    def method(self, *args, **kwargs):
        return self._call(name, *args, **kwargs)

    method.__name__ = name
    return method


# Every operation of Django's cache API that talks to Redis (decr and get_or_set call these).
for _name in (
    "add", "get", "set", "touch", "delete", "get_many", "has_key", "incr", "set_many",
    "delete_many", "clear",
):  # fmt: skip
    setattr(RedisCache, _name, _resilient(_name))
