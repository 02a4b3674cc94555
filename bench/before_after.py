"""Before and after the serving core's rewrite (issue 30), over HTTP, same run, alternating:
the pre-rewrite checkout (`--before`, commit 41ac193, with its own .venv) under its
production command (genesis.service: granian WSGI, one blocking thread, genesis.wsgi
serving the console, the API and /mcp, the MCP SDK's app inside each WSGI thread through
the single-exchange kernel) beside this checkout's (genesis-web.service for the API,
genesis-mcp.service for /mcp), one worker each, production settings, SQLite, wrk -t2 -c8.

What the rewrite removed shows here: the API's separate middleware stack (built by
swapping settings.MIDDLEWARE; now one MIDDLEWARE with console-only wrappers), the key
check on the driver's connection (now Django's cursor), and MCP under WSGI with the
SDK's private single-exchange kernel (now the SDK's app under granian ASGI). With
BENCH_REDIS_URL set (a scratch Redis), also the Redis cache subclass (now django-redis):
the failed-key throttle reads Redis on every key-authenticated request.

    git worktree add /tmp/before 41ac193
    (cd /tmp/before && python3 -m venv .venv && .venv/bin/pip install -q -e ".[dev]")
    python bench/before_after.py --before /tmp/before [--rounds 7] [--seconds 3]

With BENCH_DATABASE_URL (PostgreSQL), BENCH_BEFORE_DATABASE_URL names the before
checkout's scratch database (its migrations differ).
"""

import argparse
import contextlib
import sys

from common import (
    BEFORE_UNIT,
    CURRENT,
    EXTERNAL_DATABASE,
    EXTERNAL_REDIS,
    MCP_UNIT,
    WEB_UNIT,
    Server,
    check_me,
    load_average,
    mcp_rate,
    mcp_whoami,
    median,
    prepare_database,
    rate,
    ratios,
    spread,
    tree_at,
)


def main(before_path: str, rounds: int = 7, seconds: int = 3) -> tuple[list, list]:
    before = tree_at(before_path)
    env, key = prepare_database()
    before_env, before_key = prepare_database(before)
    servers = {
        "before": Server.of(before, BEFORE_UNIT, before_env),
        "after": Server.of(CURRENT, WEB_UNIT, env),
        "after mcp": Server.of(CURRENT, MCP_UNIT, env),
    }
    # (figure, server, what, key)
    figures = [
        ("/api/v1/health before", "before", "/api/v1/health", None),
        ("/api/v1/health after", "after", "/api/v1/health", None),
        ("/api/v1/me before", "before", "/api/v1/me", before_key),
        ("/api/v1/me after", "after", "/api/v1/me", key),
        ("MCP whoami before", "before", "mcp", before_key),
        ("MCP whoami after", "after mcp", "mcp", key),
    ]
    results = {figure[0]: [] for figure in figures}
    loads = [load_average()]
    with contextlib.ExitStack() as stack:
        for server in servers.values():
            stack.enter_context(server)
        check_me(servers["before"].url, before_key)
        check_me(servers["after"].url, key)
        mcp_whoami(servers["before"].url, before_key)
        mcp_whoami(servers["after mcp"].url, key)

        def measure(name, server, what, secret, duration):
            url = servers[server].url
            if what == "mcp":
                return mcp_rate(url, secret, duration)
            return rate(url + what, duration, secret)

        for figure in figures:
            measure(*figure, 1)
        for round_number in range(rounds):
            order = figures if round_number % 2 == 0 else figures[::-1]
            for figure in order:
                results[figure[0]].append(measure(*figure, seconds))
            loads.append(load_average())
            line = ", ".join(f"{name} {values[-1]:.0f}" for name, values in results.items())
            print(f"round {round_number + 1}/{rounds}: {line}", file=sys.stderr)
    rows = []
    for what in ("/api/v1/health", "/api/v1/me", "MCP whoami"):
        old, new = results[f"{what} before"], results[f"{what} after"]
        rows.append((what, median(old), median(new), spread(ratios(new, old))))
    return rows, loads


def table(rows) -> str:
    database = "PostgreSQL" if EXTERNAL_DATABASE else "SQLite"
    redis = ", Redis" if EXTERNAL_REDIS else ""
    lines = [
        f"| 1 worker, {database}{redis} | before req/s | after req/s "
        "| after ÷ before, median (range) |",
        "|---|---|---|---|",
    ]
    lines += [f"| {what} | {old:,.0f} | {new:,.0f} | {ratio} |" for what, old, new, ratio in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", required=True, help="a checkout of 41ac193 with a .venv")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=int, default=3)
    args = parser.parse_args()
    rows, loads = main(args.before, args.rounds, args.seconds)
    print(table(rows))
    print(f"\nload average (1, 5, 15 min) at the start and after each round: {', '.join(loads)}")
