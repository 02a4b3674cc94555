"""Slow down key guessing: a client address with too many failed key checks in a window
(RATE_LIMITS["key_failures"]) is refused (429) on every key-authenticated request until
the window is over. Counted by infra.limits: one cache read per request. An IPv6 client
counts as its /64 (infra.client_ip.network_of), so rotating addresses gains nothing.

The refusal comes before the key check, so an address over the limit gets 429 even with
a valid key: checking the key first would tell a guesser when a guess is right. The price
is that clients behind one address (a NAT, a proxy) share its failures; raise
KEY_FAILURES_PER_MINUTE there, or list the proxy in TRUSTED_PROXIES so each client
counts by its own address."""

from infra import limits
from infra.client_ip import network_of


def retry_after(ip: str) -> int:
    """Seconds this address must wait before its keys are checked again; 0 when it may go
    on."""
    return limits.retry_after("key_failures", network_of(ip))


def record_failure(ip: str) -> None:
    limits.hit("key_failures", network_of(ip))
