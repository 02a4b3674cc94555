"""Slow down key guessing: a client address with too many failed key checks in a window
(RATE_LIMITS["key_failures"]) is refused (429) on every key-authenticated request until
the window is over. Counted by infra.limits: one cache read per request."""

from infra import limits


def retry_after(ip: str) -> int:
    """Seconds this address must wait before its keys are checked again; 0 when it may go
    on."""
    return limits.retry_after("key_failures", ip)


def record_failure(ip: str) -> None:
    limits.hit("key_failures", ip)
