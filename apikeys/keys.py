"""The key format, its checksum and its digest. No database here.

A key is `gns_` + 32 base62 characters from `secrets` (about 190 bits) + 6 base62 characters
of the CRC32 of everything before them. The checksum lets us turn away typos and garbage
without touching the database, and lets secret scanners recognise our keys.
At rest we keep only HMAC-SHA256(pepper, key): without the pepper a stolen table is useless,
and unlike a password hash it costs microseconds, so it can sit on every request.
"""

import hmac
import secrets
import zlib

from django.conf import settings
from django.views.decorators.debug import sensitive_variables

PREFIX = "gns_"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
SECRET_LENGTH = 32
CHECKSUM_LENGTH = 6
KEY_LENGTH = len(PREFIX) + SECRET_LENGTH + CHECKSUM_LENGTH
_ALPHABET_SET = frozenset(ALPHABET)


def _base62(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, remainder = divmod(number, 62)
        chars.append(ALPHABET[remainder])
    return "".join(reversed(chars))


@sensitive_variables()
def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


@sensitive_variables()
def generate() -> str:
    body = PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(SECRET_LENGTH))
    return body + _checksum(body)


@sensitive_variables()
def is_well_formed(raw_key: object) -> bool:
    """Prefix, length, alphabet and checksum: everything that can be checked for free."""
    if not isinstance(raw_key, str) or len(raw_key) != KEY_LENGTH:
        return False
    if not raw_key.startswith(PREFIX) or not _ALPHABET_SET.issuperset(raw_key[len(PREFIX) :]):
        return False
    body, checksum = raw_key[:-CHECKSUM_LENGTH], raw_key[-CHECKSUM_LENGTH:]
    return hmac.compare_digest(_checksum(body), checksum)


@sensitive_variables()
def digest(raw_key: str, pepper_id: str) -> str:
    pepper = settings.APIKEY_PEPPERS[pepper_id]
    # The one-shot form runs in OpenSSL without building an HMAC object (every request).
    return hmac.digest(pepper.encode(), raw_key.encode(), "sha256").hex()


def current_pepper_id() -> str:
    return next(iter(settings.APIKEY_PEPPERS))


@sensitive_variables()
def candidate_digests(raw_key: str) -> dict[str, str]:
    """The key's digest under every configured pepper, so keys outlive a pepper rotation."""
    return {pepper_id: digest(raw_key, pepper_id) for pepper_id in settings.APIKEY_PEPPERS}


@sensitive_variables()
def hint(raw_key: str) -> str:
    """What lists show: enough to tell keys apart, far too little to use one."""
    return f"{raw_key[: len(PREFIX) + 4]}…{raw_key[-4:]}"
