"""The client's IP address: decided here, once, for everything that needs it.

The failed-key throttle, the sign-in lockout (allauth's, keyed in accounts.adapter), the
audit log and "last used" all read the address decided here, under every server (the
console and API through `ClientIpMiddleware`, the MCP server through its edge,
mcp_server.edge).

`TRUSTED_PROXIES` lists the proxies in front of the app (addresses or CIDR ranges). Only
a request whose TCP peer is one of them is believed about `X-Forwarded-For`, and then the
client is the right-most address in it that is not itself a trusted proxy: each proxy
appends the address it saw, so what stands right of that address was written by proxies
we trust and what stands left of it by the client, who may write anything. Any other peer
is the client, whatever it sends. The default, no trusted proxy, means nobody can forge
an address.

Why not django-ipware: python-ipware never looks at the TCP peer, trusts proxies by their
position in the header (one entry per hop, in order, so "these ranges, any number of
hops" can't be said), and unconfigured it returns the first public address of
`X-Forwarded-For`, which the client wrote. uvicorn's ProxyHeadersMiddleware gets this
right, but it is ASGI only and rewrites the address before our code runs, so we turn it
off (`--no-proxy-headers`) and decide here, with the standard library's `ipaddress`.
"""

import functools
import ipaddress

from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@functools.lru_cache(maxsize=4)
def _networks(entries: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def parse_trusted_proxies(entries: list[str]) -> list[str]:
    """Check `TRUSTED_PROXIES` at startup; raises ValueError naming a bad entry."""
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            message = f"TRUSTED_PROXIES: {entry!r} is not an IP address or CIDR range"
            raise ValueError(message) from None
    return entries


def _address(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("["):  # [v6]:port
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:  # v4:port
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, networks) -> bool:
    # Membership across IP versions is False, never an error.
    return any(address in network for network in networks)


def resolve(peer: str, forwarded_for: str | None) -> tuple[str, bool]:
    """The client's address, from the TCP peer's and the `X-Forwarded-For` it sent, and
    whether the peer is a trusted proxy."""
    return _resolve(peer or "", forwarded_for or "", tuple(settings.TRUSTED_PROXIES))


# Remembered: parsing the addresses cost 6-15 µs of every request, and a server sees the
# same few peers and headers again and again (its proxies, its busiest clients). A pure
# function of its arguments, so the answer can't go stale; 256 entries of at most one
# header each bound its memory.
@functools.lru_cache(maxsize=256)
def _resolve(peer: str, forwarded_for: str, trusted: tuple[str, ...]) -> tuple[str, bool]:
    peer_address = _address(peer)
    if peer_address is None:
        return "", False  # no IP peer (a Unix socket): nothing to believe or to count by
    networks = _networks(trusted)
    if not _trusted(peer_address, networks):
        return str(peer_address), False
    client = peer_address
    for hop in reversed(forwarded_for.split(",")):
        address = _address(hop)
        if address is None:
            break  # not an address: nothing left of it can be believed
        client = address
        if not _trusted(address, networks):
            break
    return str(client), True


def decide(peer: str, forwarded_for: str | None) -> str:
    """The client's address (see resolve)."""
    return resolve(peer, forwarded_for)[0]


class ClientIpMiddleware:
    """First of all middleware: `REMOTE_ADDR` becomes the client's address as decided
    above, so Django, allauth and our code all see the same one. The forwarded
    scheme (`X-Forwarded-Proto`, read by SECURE_PROXY_SSL_HEADER) counts only from a
    trusted proxy too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        meta = request.META
        client, from_proxy = resolve(meta.get("REMOTE_ADDR", ""), meta.get("HTTP_X_FORWARDED_FOR"))
        meta["REMOTE_ADDR"] = client
        if not from_proxy:
            meta.pop("HTTP_X_FORWARDED_PROTO", None)
        return self.get_response(request)


def of_request(request) -> str:
    """The decided address of a request that went through ClientIpMiddleware (for
    allauth's sign-in lockout, accounts.adapter, and anyone else who asks)."""
    return request.META.get("REMOTE_ADDR", "")


@functools.lru_cache(maxsize=4096)  # a pure function, asked on every key check
def network_of(ip: str) -> str:
    """What a per-client limit counts by: an IPv6 client as its /64 (one home or host gets
    a whole /64 and could rotate through it), as allauth's own per-IP limit counts it;
    IPv4 as the address."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6:
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False).network_address)
    return str(address)
