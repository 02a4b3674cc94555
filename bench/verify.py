"""Key verification in one process, on one database (SQLite): calls per second of
apikeys.services.authenticate (valid, unknown and malformed keys, a bad checksum) beside
djangorestframework-api-key's APIKey.objects.is_valid and the same one-query lookup
verified with Django's Argon2PasswordHasher. Each figure the median of several timed
runs, the candidates interleaved; ratios from the same run. Target: a valid key at least
4x drf-api-key's.

With --before PATH (the pre-rewrite checkout, its own .venv): the same measurement there
too, the two processes alternating, for the key check before and after it moved from the
driver's connection to Django's cursor.

    python bench/verify.py [--before /tmp/before]
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def rate(function, seconds: float) -> float:
    """Calls per second of `function` over about `seconds`."""
    function()  # warm up
    calls, started = 0, time.perf_counter()
    deadline = started + seconds
    while (now := time.perf_counter()) < deadline:
        function()
        calls += 1
    return calls / (now - started)


def measure(tree_path: str | None, runs: int = 5, seconds: float = 1.0) -> dict:
    """Median calls/s of each candidate, in this process."""
    sys.path.insert(0, str(HERE))
    import common

    tree = common.tree_at(tree_path, "other") if tree_path else common.CURRENT
    common.setup_django_in_process("verify", "settings_drf", tree)
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
    return {name: sorted(values)[len(values) // 2] for name, values in results.items()}


def run(tree=None) -> dict:
    python = str(tree.python) if tree else sys.executable
    argv = [python, __file__, "--one"] + (["--tree", str(tree.root)] if tree else [])
    result = subprocess.run(argv, check=True, capture_output=True, text=True, cwd=HERE)  # noqa: S603
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(before: str | None = None, rounds: int = 3) -> list[tuple[str, float, str]]:
    """This checkout (and the one at `before`) in processes of their own, alternating;
    each figure the median of the rounds."""
    import common

    trees = {"after": None}
    if before:
        trees["before"] = common.tree_at(before)
    results = {name: [] for name in trees}
    for round_number in range(rounds):
        order = list(trees) if round_number % 2 == 0 else list(trees)[::-1]
        for name in order:
            results[name].append(run(trees[name]))

    def med(name, figure):
        return common.median([one[figure] for one in results[name]])

    valid, drf = "authenticate, valid key", "drf-api-key is_valid, valid key"
    rows = [(name, med("after", name), "") for name in results["after"][0]]
    ratio = common.median([one[valid] / one[drf] for one in results["after"]])
    rows.append(("valid vs drf-api-key (median of per-round ratios)", ratio, ">= 4"))
    argon2 = med("after", "one query + Argon2PasswordHasher")
    malformed = med("after", "authenticate, malformed key")
    rows.append(("valid vs Argon2 variant", med("after", valid) / argon2, ""))
    rows.append(("malformed vs valid", malformed / med("after", valid), ""))
    if before:
        rows.append(("before (41ac193): authenticate, valid key", med("before", valid), ""))
        rows.append(("before: drf-api-key is_valid, valid key", med("before", drf), ""))
        change = common.median(
            [a[valid] / b[valid] for a, b in zip(results["after"], results["before"], strict=True)]
        )
        rows.append(("authenticate, valid key: after ÷ before", change, ""))
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--one", action="store_true", help="one measurement, as JSON")
    parser.add_argument("--tree")
    parser.add_argument("--before")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.tree)))
    else:
        sys.path.insert(0, str(HERE))
        print("| verification | calls/s or ratio | target |\n|---|---|---|")
        for name, value, target in main(args.before, args.rounds):
            print(f"| {name} | {value:,.2f} | {target} |")
