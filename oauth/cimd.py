"""Fetching a client's metadata document (its client_id is an https URL): the toolkit's
SSRF-hardened fetcher (https only, public addresses only, the address checked once and
then connected to, size and time limits: settings.OAUTH2_PROVIDER CIMD_*).

With DEBUG a document on this machine (loopback) is allowed too, for trying a client
locally; still https. The toolkit judges every resolved address with one private
function, `_ip_is_public`; ours wraps it (django-oauth-toolkit is pinned <3.5, and
tests/oauth/test_registration.py fails if the wrapper stops being used)."""

from django.conf import settings
from oauth2_provider import cimd

from .validator import is_loopback

_ip_is_public = cimd._ip_is_public


def public_or_local_when_debugging(ip: str) -> bool:
    return _ip_is_public(ip) or (settings.DEBUG and is_loopback(ip))


cimd._ip_is_public = public_or_local_when_debugging


class GuardedFetcher(cimd.SafeMetadataFetcher):
    """The toolkit's fetcher; importing this module installs the DEBUG exemption."""
