"""Requests to an identity provider (OpenID discovery, SAML metadata, and allauth's own
token, user-info and key requests at sign-in): through allauth's HTTP session (its
timeout per read, SOCIALACCOUNT_REQUESTS_TIMEOUT), never to this machine or its link
(`guarded`), and, for a document read before a connection is saved, no redirect
followed and bounded in size and in total time (`read`), so that a URL an Owner typed
can't reach the console's own services, hold a worker or fill its memory."""

import ipaddress
import socket
import time
from urllib.parse import urlsplit

import requests
from allauth.socialaccount.adapter import get_adapter
from django.conf import settings
from django.utils.translation import gettext as _

MAX_BYTES = 1024 * 1024
# A server that trickles bytes, each read within the timeout, is cut off after this.
MAX_SECONDS = 15
CHUNK = 64 * 1024
METADATA_IPV6 = ipaddress.ip_address("fd00:ec2::254")


class TooLarge(Exception):
    pass


class TooSlow(Exception):
    pass


class LocalAddress(requests.ConnectionError):
    """The URL's host is this machine or its link: refused before any connection."""

    def __init__(self, host: str):
        super().__init__(host)
        self.host = host


def local_address_message(error: LocalAddress) -> str:
    return _(
        "%(host)s is this server itself or its local link (loopback or link-local), which "
        "the console never fetches from. Use your provider's own address."
    ) % {"host": error.host}


def _is_local(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone (fe80::1%eth0)
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    # Loopback and 0.0.0.0 reach this machine; link-local holds clouds' metadata services
    # (169.254.169.254; AWS's IPv6 one is named); multicast and reserved ranges are
    # nobody's provider.
    return (
        ip.is_loopback
        or ip.is_unspecified
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip == METADATA_IPV6
    )


def refuse_local(url: str) -> None:
    """Raises LocalAddress when `url`'s host is, or resolves to, a local address, unless
    SSO_ALLOW_LOCAL_ADDRESSES. A name that doesn't resolve is left to the request, which
    then fails as it would. (The connection resolves the name again: a DNS server that
    answers differently the second time is out of this check's reach; a firewall rule for
    the console's user is the complete answer, docs/sso.md.)"""
    if settings.SSO_ALLOW_LOCAL_ADDRESSES:
        return
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        return  # the request fails by itself
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (ValueError, OSError):  # a bad port, a name that doesn't resolve
        return
    if any(_is_local(info[4][0]) for info in addresses):
        raise LocalAddress(host)


class _GuardedAdapter(requests.adapters.HTTPAdapter):
    """requests' transport adapter (its documented extension point), checking where each
    request goes, redirects included, before it is sent."""

    def send(self, request, *args, **kwargs):
        refuse_local(request.url)
        return super().send(request, *args, **kwargs)


def guarded(session: requests.Session) -> requests.Session:
    """`session` with every http and https request checked by refuse_local."""
    session.mount("http://", _GuardedAdapter())
    session.mount("https://", _GuardedAdapter())
    return session


def read(url: str) -> bytes:
    """The document at `url`; requests' exceptions for a failure on the way (an error
    status, and LocalAddress, included), TooLarge past MAX_BYTES, TooSlow past
    MAX_SECONDS."""
    deadline = time.monotonic() + MAX_SECONDS
    with (
        get_adapter().get_requests_session() as session,
        session.get(url, allow_redirects=False, stream=True) as response,
    ):
        response.raise_for_status()
        body = bytearray()
        for chunk in response.iter_content(CHUNK):
            body += chunk
            if len(body) > MAX_BYTES:
                raise TooLarge(url)
            if time.monotonic() > deadline:
                raise TooSlow(url)
        return bytes(body)
