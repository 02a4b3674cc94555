"""What a credential's last use records, the same for API keys (apikeys.services) and OAuth
grants (oauth.tokens): the client's address and name as the lists show them, and how often
a new name may be written."""

import ipaddress
import unicodedata

from . import limits

# The models' last_used_client columns hold this much.
CLIENT_NAME_LENGTH = 200


def valid_ip(ip: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(ip)) if ip else None
    except ValueError:
        return None


def client_name(text: str) -> str:
    """A client's name as the lists show it: no control, format or unpaired surrogate
    characters (a NUL broke PostgreSQL, a lone surrogate the encoder, U+202E reversed the
    table cell after it), spaces collapsed, at most the column's length."""
    kept = "".join(
        " " if char.isspace() else char
        for char in text
        if char.isspace() or not unicodedata.category(char).startswith("C")
    )
    return " ".join(kept.split())[:CLIENT_NAME_LENGTH]


def may_rename_client(credential: str) -> bool:
    """Whether a new client name may be written now for a key's or a grant's context's
    `credential` (oauth.tokens records grants' use): RATE_LIMITS["client_renames"], enough
    for mcp-remote's probe and its host's initialize within a minute, too few for a caller
    who alternates names to turn every request into a write."""
    return limits.hit("client_renames", credential)
