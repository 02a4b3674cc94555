"""Key verification in one process, on one database: calls per second of
apikeys.services.authenticate (valid, unknown and malformed keys) beside
djangorestframework-api-key's APIKey.objects.is_valid and the same lookup verified with
Django's Argon2PasswordHasher. Medians of several runs; ratios from the same run."""

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rate(function, seconds: float) -> float:
    """Calls per second of `function` over about `seconds`."""
    function()  # warm up
    calls, started = 0, time.perf_counter()
    deadline = started + seconds
    while (now := time.perf_counter()) < deadline:
        function()
        calls += 1
    return calls / (now - started)


def main(runs: int = 5, seconds: float = 1.0) -> list[tuple[str, float, str]]:
    from common import setup_django_in_process

    setup_django_in_process("verify", "bench.settings_drf")
    from django.contrib.auth.hashers import Argon2PasswordHasher
    from rest_framework_api_key.models import APIKey

    from apikeys import keys
    from apikeys.services import authenticate, create_key
    from organizations.models import User
    from organizations.services import create_organization

    user = User.objects.create_user("verify@example.com", "x", name="Verify")
    _, valid = create_key(user, create_organization("Verify", "verify", user), "bench")
    unknown, malformed = keys.generate(), "gns_not-a-key"
    bad_checksum = valid[:-1] + ("A" if valid[-1] != "A" else "B")
    _, drf_key = APIKey.objects.create_key(name="bench")
    argon2 = Argon2PasswordHasher()
    encoded = argon2.encode(valid, argon2.salt())

    def argon2_variant():
        # The same one-query lookup, then the key checked like a password.
        return authenticate(valid) and argon2.verify(valid, encoded)

    if not (authenticate(valid) and APIKey.objects.is_valid(drf_key) and argon2_variant()):
        raise RuntimeError("a valid key was refused: the benchmark would measure nothing")
    if authenticate(unknown) or authenticate(malformed) or authenticate(bad_checksum):
        raise RuntimeError("a bad key was accepted")
    candidates = {
        "authenticate, valid key": lambda: authenticate(valid),
        "authenticate, unknown key": lambda: authenticate(unknown),
        "authenticate, malformed key": lambda: authenticate(malformed),
        "authenticate, bad checksum": lambda: authenticate(bad_checksum),
        "drf-api-key is_valid, valid key": lambda: APIKey.objects.is_valid(drf_key),
        "one query + Argon2PasswordHasher": argon2_variant,
    }
    results = {name: [] for name in candidates}
    for _ in range(runs):
        for name, function in candidates.items():
            slow = name.startswith("one query")
            results[name].append(rate(function, seconds * (3 if slow else 1)))
    medians = {name: sorted(values)[len(values) // 2] for name, values in results.items()}
    valid_rate = medians["authenticate, valid key"]
    rows = [(name, value, "") for name, value in medians.items()]
    rows.append(
        ("valid vs drf-api-key", valid_rate / medians["drf-api-key is_valid, valid key"], ">= 1.0")
    )
    rows.append(
        (
            "valid vs Argon2 variant",
            valid_rate / medians["one query + Argon2PasswordHasher"],
            ">= 30",
        )
    )
    rows.append(
        ("malformed vs valid", medians["authenticate, malformed key"] / valid_rate, ">= 20")
    )
    rows.append(("bad checksum vs valid", medians["authenticate, bad checksum"] / valid_rate, ""))
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    print("| verification | calls/s or ratio | target |\n|---|---|---|")
    for name, value, target in main():
        print(f"| {name} | {value:,.1f} | {target} |")
