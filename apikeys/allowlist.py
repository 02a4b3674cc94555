"""A key's IP allowlist: the addresses and ranges it may be used from.

Stored as one line of normalised networks ("203.0.113.0/24 2001:db8::/48"); empty means
anywhere. Checked against the one client IP that infra.client_ip decided (behind
TRUSTED_PROXIES), in the key check itself (apikeys.services.authenticate)."""

import functools
import ipaddress

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

# Enough for a CI provider's published runner ranges; a longer list is a sign the key
# should not be locked to addresses at all.
MAX_ENTRIES = 20

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse(text: str) -> str:
    """Validate what someone typed (one entry per line, or separated by commas or spaces)
    and return it as stored; raises ValidationError naming every bad entry with its line."""
    networks: list[Network] = []
    bad = []
    for number, line in enumerate(text.splitlines(), start=1):
        for entry in line.replace(",", " ").split():
            try:
                network = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                bad.append(
                    _(
                        "Line %(line)s: “%(entry)s” is not an IP address or a range like "
                        "203.0.113.0/24."
                    )
                    % {"line": number, "entry": entry[:60]}
                )
                continue
            mapped = getattr(network.network_address, "ipv4_mapped", None)
            if mapped is not None and network.prefixlen >= 96:
                # ::ffff:203.0.113.0/120 is 203.0.113.0/24: clients are compared as IPv4.
                network = ipaddress.ip_network(f"{mapped}/{network.prefixlen - 96}")
            if network not in networks:
                networks.append(network)
    if len(bad) > MAX_ENTRIES:  # a paste of something else altogether
        more = len(bad) - MAX_ENTRIES
        bad[MAX_ENTRIES:] = [
            ngettext("and %(count)s more entry", "and %(count)s more entries", more)
            % {"count": more}
        ]
    if bad:
        raise ValidationError(bad)
    if len(networks) > MAX_ENTRIES:
        raise ValidationError(_("At most %(count)s addresses or ranges.") % {"count": MAX_ENTRIES})
    return " ".join(str(network) for network in networks)


@functools.lru_cache(maxsize=4096)
def _networks(stored: str) -> tuple[Network, ...]:
    # Parsed once per distinct list, not on every request that uses the key.
    return tuple(ipaddress.ip_network(entry) for entry in stored.split())


def allows(stored: str, ip: str | None) -> bool:
    """Whether a key with this allowlist may be used from `ip` (no list: anywhere; a list
    and no address: nowhere)."""
    if not stored:
        return True
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # ::ffff:203.0.113.9 is 203.0.113.9
    return any(address in network for network in _networks(stored))


def entries(stored: str) -> list[str]:
    return stored.split()
