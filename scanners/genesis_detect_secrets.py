"""A detect-secrets plugin for Genesis API keys: `gns_` + 32 base62 characters + a 6-character
base62 CRC32 of everything before it. Only keys whose checksum is right are reported, so
a typo, an example or a truncated key is not a finding.

    detect-secrets scan --plugin scanners/genesis_detect_secrets.py

Self-contained (no Django, no Genesis install) so any repository can use it;
tests/apikeys/test_scanners.py checks it agrees with apikeys.keys."""

import re
import zlib

from detect_secrets.plugins.base import RegexBasedDetector

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
KEY = re.compile(r"(?<![0-9A-Za-z_])(gns_[0-9A-Za-z]{38})(?![0-9A-Za-z])")


def checksum_matches(key: str) -> bool:
    body, given = key[:-6], key[-6:]
    number = zlib.crc32(body.encode("ascii"))
    expected = ""
    for _ in range(6):
        number, remainder = divmod(number, 62)
        expected = ALPHABET[remainder] + expected
    return given == expected


class GenesisApiKeyDetector(RegexBasedDetector):
    """Genesis API key (checksum verified)."""

    secret_type = "Genesis API key"  # noqa: S105 (a name)
    denylist = (KEY,)

    def analyze_string(self, string):
        for match in super().analyze_string(string):
            if checksum_matches(match):
                yield match
