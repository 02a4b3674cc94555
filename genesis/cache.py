"""Django's Redis cache backend, with one redis-py client per connection pool.

Django's backend builds a new redis-py client for every cache call, and redis-py 7 takes
about 60 µs to build one: as long as half a loopback round trip to Redis, on every API and
MCP request (the failed-attempt throttle reads the cache each time). A client is safe to
share between threads (each command borrows a connection from the pool), so one per pool
does.
"""

from django.core.cache.backends import redis as django_redis


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


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _OneClientPerPool
