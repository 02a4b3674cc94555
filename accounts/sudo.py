"""A fresh sign-in ("sudo mode") before the actions that matter most: making or rolling a
key, and revoking someone else's. Fresh means the session's last sign-in, or
confirmation, by password or a second factor was under ACCOUNT_REAUTHENTICATION_TIMEOUT
ago. Otherwise allauth asks for it again (its reauthentication pages) and then replays
the stashed POST, so nothing typed is lost (accounts.middleware for htmx)."""

import time

from allauth.account.authentication import get_authentication_records
from allauth.core.exceptions import ReauthenticationRequired
from django.conf import settings

# What proves the person is at the keyboard now; not a password reset or a mailed code.
FRESH_METHODS = {"password", "mfa"}


def is_fresh(request, within: int | None = None) -> bool:
    """Whether the last sign-in or confirmation was under `within` seconds ago (by
    default ACCOUNT_REAUTHENTICATION_TIMEOUT)."""
    if within is None:
        within = settings.ACCOUNT_REAUTHENTICATION_TIMEOUT
    times = [
        record.get("at", 0)
        for record in get_authentication_records(request, request.user)
        if record.get("method") in FRESH_METHODS
    ]
    return bool(times) and time.time() - max(times) < within


def require_fresh_sign_in(request, within: int | None = None) -> None:
    if not is_fresh(request, within):
        raise ReauthenticationRequired()
