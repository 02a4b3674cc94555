"""The secret-scanner rules we ship (scanners/): detect-secrets, run for real on a file
with a real key and a mistyped one, reports only the real one; its checksum agrees with
apikeys.keys; the gitleaks rule's pattern finds key-shaped strings."""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from apikeys import keys

ROOT = Path(__file__).resolve().parent.parent.parent
PLUGIN = ROOT / "scanners" / "genesis_detect_secrets.py"
sys.path.insert(0, str(PLUGIN.parent))
import genesis_detect_secrets  # noqa: E402


def mistyped(key: str) -> str:
    i = 10
    return key[:i] + ("A" if key[i] != "A" else "B") + key[i + 1 :]


def test_detect_secrets_reports_the_real_key_and_not_the_mistyped_one(tmp_path):
    real, typo = keys.generate(), mistyped(keys.generate())
    source = tmp_path / "settings.py"
    source.write_text(f'GENESIS_KEY = "{real}"\nOTHER = "{typo}"\n')
    result = subprocess.run(  # noqa: S603
        [
            str(Path(sys.executable).parent / "detect-secrets"),
            "scan",
            "--plugin",
            str(PLUGIN),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=True,
    )
    found = json.loads(result.stdout)["results"].get(source.name, [])
    ours = [finding for finding in found if finding["type"] == "Genesis API key"]
    assert [finding["line_number"] for finding in ours] == [1]


def test_the_plugins_checksum_agrees_with_ours():
    for _ in range(200):
        key = keys.generate()
        assert genesis_detect_secrets.checksum_matches(key)
        assert not genesis_detect_secrets.checksum_matches(mistyped(key))
        assert keys.is_well_formed(key) and not keys.is_well_formed(mistyped(key))


def test_the_gitleaks_rule_finds_key_shaped_strings():
    config = tomllib.loads((ROOT / "scanners" / "gitleaks.toml").read_text())
    [rule] = config["rules"]
    pattern = re.compile(rule["regex"])
    key = keys.generate()
    assert pattern.search(f'token = "{key}"').group(1) == key
    assert pattern.search("gns_short") is None
