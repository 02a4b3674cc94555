"""Checking an issuer before it is saved: its OpenID discovery document must answer, in
time, and name the same issuer (OpenID Connect Discovery 1.0, section 4.3)."""

import requests
from allauth.socialaccount.adapter import get_adapter
from django.utils.translation import gettext as _

WELL_KNOWN = "/.well-known/openid-configuration"
NEEDED = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")


def problem_with(issuer: str) -> str | None:
    """What is wrong with the issuer, in words for its Owner; None when it will do.
    (allauth's own session: its timeout, SOCIALACCOUNT_REQUESTS_TIMEOUT.)"""
    try:
        with get_adapter().get_requests_session() as session:
            response = session.get(issuer + WELL_KNOWN, allow_redirects=False)
        response.raise_for_status()
        document = response.json()
    except requests.Timeout:
        return _("Your provider did not answer in time. Check the URL and try again.")
    except (requests.RequestException, ValueError):
        return _("No OpenID discovery document at %(url)s.") % {"url": issuer + WELL_KNOWN}
    if not isinstance(document, dict) or any(not document.get(key) for key in NEEDED):
        return _("The discovery document at %(url)s is incomplete.") % {"url": issuer + WELL_KNOWN}
    if document["issuer"].rstrip("/") != issuer:
        return _("The provider calls itself %(issuer)s: enter that as the issuer URL.") % {
            "issuer": document["issuer"]
        }
    return None
