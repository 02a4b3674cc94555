"""The HTTP targets, on the production layout: each server is its docs/deploy/ unit's
command with one worker, production settings, SQLite, wrk -t2 -c8 on loopback.

- ours /api/v1/me against the peer's /me (DRF + djangorestframework-api-key) under the
  same command as ours (granian WSGI, one blocking thread): at least 1.5x;
- ours /api/v1/health against a bare Django view returning JSON (bench/bare) under the
  same command: at least 0.75x, against the bare project with no middleware; beside it,
  the same view with startproject's middleware, for scale;
- MCP tools/call whoami on the MCP server's command (granian ASGI, genesis.asgi):
  measured, no floor.

All five servers run for the whole run and are measured in turn, a few seconds each, the
order reversed every other round: this machine's speed drifts by tens of percent within a
minute, so the two figures of a ratio are taken seconds apart. Each ratio is taken per
round; the table gives the median and the range of the rounds.

    python bench/http_load.py [--rounds 7] [--seconds 3]
"""

import argparse
import contextlib
import sys

from common import (
    BARE,
    CURRENT,
    MCP_UNIT,
    PEER,
    WEB_UNIT,
    Server,
    bare_env,
    check_me,
    load_average,
    mcp_rate,
    mcp_whoami,
    median,
    prepare_database,
    prepare_peer,
    rate,
    ratios,
    spread,
)


def main(rounds: int = 7, seconds: int = 3) -> list[tuple[str, str, str, str]]:
    env, key = prepare_database()
    peer_env, peer_key = prepare_peer()
    servers = {
        "ours": Server.of(CURRENT, WEB_UNIT, env),
        "mcp": Server.of(CURRENT, MCP_UNIT, env),
        "peer": Server.of(CURRENT, WEB_UNIT, peer_env, app="peer_wsgi:application", cwd=PEER),
        "bare": Server.of(
            CURRENT, WEB_UNIT, bare_env("none"), app="bare_wsgi:application", cwd=BARE
        ),
        "bare+mw": Server.of(
            CURRENT, WEB_UNIT, bare_env("startproject"), app="bare_wsgi:application", cwd=BARE
        ),
    }
    # (figure, server, path, key): what each round measures, in this order or its reverse.
    figures = [
        ("ours /health", "ours", "/api/v1/health", None),
        ("bare /health", "bare", "/api/v1/health", None),
        ("bare+mw /health", "bare+mw", "/api/v1/health", None),
        ("ours /me", "ours", "/api/v1/me", key),
        ("peer /me", "peer", "/api/v1/me", peer_key),
        ("MCP whoami", "mcp", None, key),
    ]
    results = {figure[0]: [] for figure in figures}
    loads = [load_average()]
    with contextlib.ExitStack() as stack:
        for server in servers.values():
            stack.enter_context(server)
        check_me(servers["ours"].url, key)
        check_me(servers["peer"].url, peer_key)
        mcp_whoami(servers["mcp"].url, key)

        def measure(name, server, path, secret, duration):
            url = servers[server].url
            if path is None:
                return mcp_rate(url, secret, duration)
            return rate(url + path, duration, secret)

        for figure in figures:  # warm up every path
            measure(*figure, 1)
        for round_number in range(rounds):
            order = figures if round_number % 2 == 0 else figures[::-1]
            for figure in order:
                results[figure[0]].append(measure(*figure, seconds))
            loads.append(load_average())
            line = ", ".join(f"{name} {values[-1]:.0f}" for name, values in results.items())
            print(f"round {round_number + 1}/{rounds}: {line}", file=sys.stderr)
    me_ratios = ratios(results["ours /me"], results["peer /me"])
    health_ratios = ratios(results["ours /health"], results["bare /health"])
    health_mw_ratios = ratios(results["ours /health"], results["bare+mw /health"])
    mcp_ratios = ratios(results["MCP whoami"], results["ours /me"])
    rows = [(name, spread(values), "", "") for name, values in results.items()]
    rows += [
        ("ours /me ÷ peer /me", spread(me_ratios), ">= 1.5", held(me_ratios, 1.5)),
        ("ours /health ÷ bare /health", spread(health_ratios), ">= 0.75",
         held(health_ratios, 0.75)),
        ("ours /health ÷ bare+mw /health", spread(health_mw_ratios), "", ""),
        ("MCP whoami ÷ ours /me", spread(mcp_ratios), "(no floor)", ""),
        ("load average during the run", " → ".join(loads[:1] + loads[-1:]), "", ""),
    ]  # fmt: skip
    return rows


def held(values, floor) -> str:
    middle = median(values)
    if middle >= floor:
        return "holds" if min(values) >= floor else "holds (median; some rounds below)"
    return "misses"


def table(rows) -> str:
    lines = ["| figure | median (range) | target | held? |", "|---|---|---|---|"]
    lines += [
        f"| {name} | {value} | {target} | {verdict} |" for name, value, target, verdict in rows
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=int, default=3)
    args = parser.parse_args()
    print(table(main(args.rounds, args.seconds)))
