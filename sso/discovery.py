"""Checking an issuer before it is saved: its OpenID discovery document must answer, in
time, and name the same issuer (OpenID Connect Discovery 1.0, section 4.3)."""

import json

import requests
from django.utils.translation import gettext as _

from . import remote

WELL_KNOWN = "/.well-known/openid-configuration"
NEEDED = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
# An issuer named in a document is shown to the Owner only when it looks like one.
MAX_SHOWN = 200


def problem_with(issuer: str) -> str | None:
    """What is wrong with the issuer, in words for its Owner; None when it will do."""
    url = issuer + WELL_KNOWN
    try:
        document = json.loads(remote.read(url))
    except (requests.Timeout, remote.TooSlow):
        return _("Your provider did not answer in time. Check the URL and try again.")
    except remote.LocalAddress as error:
        return remote.local_address_message(error)
    except remote.TooLarge:
        return _("The discovery document at %(url)s is too large.") % {"url": url}
    except (requests.RequestException, ValueError):
        return _("No OpenID discovery document at %(url)s.") % {"url": url}
    if not isinstance(document, dict) or any(
        not isinstance(document.get(key), str) or not document[key] for key in NEEDED
    ):
        return _("The discovery document at %(url)s is incomplete.") % {"url": url}
    named = document["issuer"]
    if named.rstrip("/") != issuer:
        if not named.startswith(("https://", "http://")) or len(named) > MAX_SHOWN:
            # Not an issuer's name: not shown (the URL may be a page that isn't one).
            return _("The document at %(url)s names another issuer.") % {"url": url}
        return _("The provider calls itself %(issuer)s: enter that as the issuer URL.") % {
            "issuer": named
        }
    return None
