"""What counting usage per key (apikeys.usage) costs `/api/v1/me`: this checkout against
the commit before counting (`--before`, with its own .venv), in one process each, no server
and no network (bench/inprocess.py's measurement: best of 5 x 1,000 requests), same run,
alternating, several rounds; the median of the per-round ratios. There is no setting that
turns counting off (it is not a product option), hence the other checkout.

    mkdir /tmp/before && git archive <commit before usage> | tar -x -C /tmp/before
    (cd /tmp/before && python3 -m venv .venv && .venv/bin/pip install -q \\
        --require-hashes -r requirements-dev.lock && .venv/bin/pip install -q --no-deps -e .)
    python bench/usage_cost.py --before /tmp/before [--rounds 7]

Each run warms up with 50 requests, so "last used" is written and a counting worker's
clock starts: the measured requests are a valid key's steady state (the key check, then
counting in memory; a write once a minute, which a 1,000-request run may or may not meet).
"""

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import common  # noqa: E402
import inprocess  # noqa: E402


def main(before: str, rounds: int = 7) -> dict:
    trees = {"without counting": common.tree_at(before), "with counting": None}
    results = {name: [] for name in trees}
    for round_number in range(rounds):
        order = list(trees) if round_number % 2 == 0 else list(trees)[::-1]
        for name in order:
            results[name].append(inprocess.run("ours", trees[name])["me"])
    per_round = common.ratios(results["with counting"], results["without counting"])
    return {"results": results, "ratios": per_round}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", required=True)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    load = common.load_average()
    measured = main(args.before, args.rounds)
    print(f"load average before: {load}, after: {common.load_average()}")
    print("| /api/v1/me in one process, µs per request (best of 5 x 1,000) | median (range) |")
    print("|---|---|")
    for name, values in measured["results"].items():
        print(f"| {name} | {common.spread(values)} |")
    print(f"| with / without, per round | {common.spread(measured['ratios'])} |")
