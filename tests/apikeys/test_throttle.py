import os

import pytest

from apikeys import throttle
from infra.limits import rate


def fail(ip, times):
    for _ in range(times):
        throttle.record_failure(ip)


def test_an_ip_is_blocked_only_past_the_limit(db):
    fail("203.0.113.1", rate("key_failures").count)
    assert throttle.retry_after("203.0.113.1") == 0
    fail("203.0.113.1", 1)
    wait = throttle.retry_after("203.0.113.1")
    assert 1 <= wait <= rate("key_failures").seconds
    assert throttle.retry_after("203.0.113.2") == 0


def test_an_ipv6_client_is_counted_by_its_64(db):
    """One host holds a whole /64: rotating through it gains nothing."""
    for n in range(rate("key_failures").count + 1):
        throttle.record_failure(f"2001:db8:5:6::{n + 1:x}")
    assert throttle.retry_after("2001:db8:5:6:ffff::1") > 0
    assert throttle.retry_after("2001:db8:5:7::1") == 0  # the next /64 is someone else


def test_the_block_ends_with_the_window(db, throttle_clock):
    throttle_clock.set(1_000_040.0)
    fail("203.0.113.1", rate("key_failures").count + 1)
    assert throttle.retry_after("203.0.113.1") == 40  # the window began at 1_000_020
    throttle_clock.set(1_000_080.0)
    assert throttle.retry_after("203.0.113.1") == 0


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")
def test_counters_live_in_redis_when_configured(db):
    """Every worker process sees the same counts: they are in Redis (django-redis's own
    connection, its documented way in)."""
    from django_redis import get_redis_connection

    fail("198.51.100.7", rate("key_failures").count + 1)
    assert throttle.retry_after("198.51.100.7") > 0
    assert throttle.retry_after("198.51.100.8") == 0
    stored = get_redis_connection("limits").keys("*key_failures*198.51.100.7*")
    assert len(stored) == 1
