"""A fresh sign-in ("sudo mode") before the actions that matter most: making or rolling a
key, and revoking someone else's. Fresh means the session's last sign-in, or
confirmation, was under ACCOUNT_REAUTHENTICATION_TIMEOUT ago, by password or a second
factor, by a password reset that signed the person in, or by signing up: a new teammate
is not asked for the password they typed seconds before. Otherwise allauth asks for it
again (its reauthentication pages) and then replays the stashed POST, so nothing typed
is lost (accounts.middleware for htmx)."""

import time

from allauth.account.authentication import get_authentication_records
from allauth.core.exceptions import ReauthenticationRequired
from django.conf import settings

# The methods of allauth's records that prove the person is at the keyboard now: a
# password (typed at sign-in, or a new one set from the reset link mailed to them), a
# second factor, a sign-in through the organization's identity provider (sso/: the
# provider checked them, and an SSO-only person has no password to confirm). Not a code
# mailed to the address alone.
FRESH_METHODS = {"password", "mfa", "password_reset", "socialaccount"}

# Ours: when this session's user signed up (allauth records no method for a sign-up,
# with a password or a passkey). {"user": the user's id, "at": a time.time()}.
SIGNED_UP = "accounts_signed_up"


def record_sign_up(request, user) -> None:
    """The person signed up just now, in this session (AccountAdapter.post_login)."""
    request.session[SIGNED_UP] = {"user": str(user.pk), "at": time.time()}


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
    signed_up = request.session.get(SIGNED_UP)
    if isinstance(signed_up, dict) and signed_up.get("user") == str(request.user.pk):
        times.append(signed_up.get("at", 0))
    return bool(times) and time.time() - max(times) < within


def require_fresh_sign_in(request, within: int | None = None) -> None:
    if not is_fresh(request, within):
        raise ReauthenticationRequired()
