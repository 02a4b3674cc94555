"""What the machine URLs' middleware costs, and what cheaper ways of skipping the
console's middleware would gain, measured before anyone changes the app: ours
/api/v1/health and /api/v1/me under variants of MIDDLEWARE (bench/settings_variant.py,
prototypes in bench/variants.py), in one process each, alternating, best of the rounds;
with --http, /health under the production WSGI command beside the bare view's, the
ratio per round (the 0.75x target's).

    production                 the shipped MIDDLEWARE: 18 layers at a machine URL, 9 of
                               them console-only wrappers that each test the path
    flag                       the same, the path tested once (variants.MarkMachine) and
                               each wrapper reading the answer off the request
    grouped                    each run of adjacent console-only wrappers as one layer
                               (variants.console_group): 4 layers instead of 9
    no console layers          the 9 wrappers gone: the floor of any way of skipping them
                               (9 layers; the API's own stack before the rewrite had 6,
                               but allauth now refuses to start without its middleware)
    allauth's only             allauth's middleware alone (it refuses to start without):
                               about the cost of ninja and the URLconf alone
    drop <name>                the shipped stack without that one layer, for each layer
                               that runs at a machine URL: what each one costs

    python bench/middleware_cost.py [--http] [--rounds 3]
"""

import argparse
import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VARIANTS = (
    "production",
    "flag",
    "grouped",
    "no console layers",
    "allauth's only",
    "drop ClientIpMiddleware",
    "drop MachineResponsesMiddleware",
    "drop BodyLimitMiddleware",
    "drop SecurityMiddleware",
    "drop CommonMiddleware",
    "drop CsrfViewMiddleware",
    "drop AuditContextMiddleware",
    "drop XFrameOptionsMiddleware",
)


def one(variant: str) -> dict:
    sys.path.insert(0, str(HERE))
    import common
    from inprocess import microseconds

    env, key = common.prepare_database()
    os.environ.update(env, DJANGO_SETTINGS_MODULE="settings_variant", BENCH_VARIANT=variant)
    sys.path.insert(0, str(common.ROOT))
    from genesis.wsgi import application

    return {
        "health": microseconds(application, "/api/v1/health", {}),
        "me": microseconds(application, "/api/v1/me", {"X-Api-Key": key}),
    }


def in_process(rounds: int) -> dict:
    results = {variant: [] for variant in VARIANTS}
    for round_number in range(rounds):
        order = VARIANTS if round_number % 2 == 0 else VARIANTS[::-1]
        for variant in order:
            output = subprocess.run(  # noqa: S603
                [sys.executable, __file__, "--one", variant],
                check=True,
                capture_output=True,
                text=True,
                cwd=HERE,
            ).stdout
            results[variant].append(json.loads(output.strip().splitlines()[-1]))
    return {
        variant: {path: min(run[path] for run in runs) for path in ("health", "me")}
        for variant, runs in results.items()
    }


def over_http(rounds: int, seconds: int) -> dict:
    """/health of each variant under the production WSGI command, beside the bare view."""
    import common

    env, _ = common.prepare_database()
    env = {
        **env,
        "PYTHONPATH": f"{common.ROOT}:{HERE}",
        "DJANGO_SETTINGS_MODULE": "settings_variant",
    }
    servers = {
        variant: common.Server.of(
            common.CURRENT, common.WEB_UNIT, {**env, "BENCH_VARIANT": variant}
        )
        for variant in VARIANTS[:-1]
    }
    servers["bare"] = common.Server.of(
        common.CURRENT,
        common.WEB_UNIT,
        common.bare_env("none"),
        app="bare_wsgi:application",
        cwd=common.BARE,
    )
    rates = {name: [] for name in servers}
    with contextlib.ExitStack() as stack:
        for server in servers.values():
            stack.enter_context(server)
        for server in servers.values():
            common.rate(f"{server.url}/api/v1/health", 1)
        for round_number in range(rounds):
            order = list(servers) if round_number % 2 == 0 else list(servers)[::-1]
            for name in order:
                rates[name].append(common.rate(f"{servers[name].url}/api/v1/health", seconds))
            print(
                f"round {round_number + 1}/{rounds}, load {common.load_average()}", file=sys.stderr
            )
    table = {
        variant: (common.median(values), common.spread(common.ratios(values, rates["bare"])))
        for variant, values in rates.items()
    }
    table["bare"] = (common.median(rates["bare"]), "1")
    return table


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--one")
    parser.add_argument("--http", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=3)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one)))
    elif args.http:
        sys.path.insert(0, str(HERE))
        print("| MIDDLEWARE (HTTP, 1 worker) | /health req/s | ÷ bare view, median (range) |")
        print("|---|---|---|")
        for variant, (rate, ratio) in over_http(args.rounds, args.seconds).items():
            print(f"| {variant} | {rate:,.0f} | {ratio} |")
    else:
        print("| MIDDLEWARE (in one process, µs, best) | /api/v1/health | /api/v1/me |")
        print("|---|---|---|")
        for variant, numbers in in_process(args.rounds).items():
            print(f"| {variant} | {numbers['health']:.0f} | {numbers['me']:.0f} |")
