"""Fetching a client's metadata document (its client_id is an https URL): the toolkit's
SSRF-hardened fetcher (https only, public addresses only, the address checked once and
then connected to, size and time limits: settings.OAUTH2_PROVIDER CIMD_*).

With DEBUG a document on this machine (loopback) is allowed too, for trying a client
locally; still https. The toolkit judges every resolved address with one private
function, `_ip_is_public`; ours wraps it (django-oauth-toolkit is pinned <3.5, and
tests/oauth/test_registration.py fails if the wrapper stops being used)."""

import time

from django.conf import settings
from oauth2_provider import cimd
from oauth2_provider.settings import oauth2_settings

from .validator import is_loopback

_ip_is_public = cimd._ip_is_public


def public_or_local_when_debugging(ip: str) -> bool:
    return _ip_is_public(ip) or (settings.DEBUG and is_loopback(ip))


cimd._ip_is_public = public_or_local_when_debugging


class GuardedFetcher(cimd.SafeMetadataFetcher):
    """The toolkit's fetcher (importing this module installs the DEBUG exemption), with
    one deadline for the whole fetch, body included: the toolkit's timeout bounds each
    read, so a server that sent a byte every few seconds held a worker for hours."""

    def fetch(self, client_id):
        self._deadline = time.monotonic() + oauth2_settings.CIMD_FETCH_TIMEOUT_SECONDS
        return super().fetch(client_id)

    def _read_document(self, response):
        limit = oauth2_settings.CIMD_MAX_DOCUMENT_SIZE + 1
        body = b""
        while len(body) < limit:
            if time.monotonic() > self._deadline:
                raise cimd.CIMDError("client_id document took too long to arrive")
            chunk = response.read1(min(4096, limit - len(body)))  # one receive at most
            if not chunk:
                break
            body += chunk
        return super()._read_document(_Received(response, body))


class _Received:
    """A response whose body has been read already, for the toolkit's checks."""

    def __init__(self, response, body: bytes):
        self.status = response.status
        self.headers = response.headers
        self._body = body

    def read(self, amount=None):
        return self._body if amount is None else self._body[:amount]
