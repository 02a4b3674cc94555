"""HTTP, on the production server (granian WSGI, one blocking thread, one worker),
production settings, SQLite, wrk -t2 -c8 on loopback: ours against the peer (DRF +
djangorestframework-api-key) on the same server command, and MCP whoami against ours
/me, in one run, alternating, several rounds; medians of the per-round ratios.

Also in one process (bench/inprocess.py): ours /me against the peer's /health, the floor
a Django request costs there."""

import sys

import inprocess
from common import PEER, median, prepare_database, prepare_peer
from servers import GRANIAN_PRODUCTION, Server, free_port, mcp_rate, wrk_run


def rates(argv, env, key, seconds: int, with_mcp: bool) -> dict:
    port = free_port()
    with Server(argv(port), env) as server:
        header = f"x-api-key: {key}"
        wrk_run(f"{server.url}/api/v1/health", 1)  # warm up
        wrk_run(f"{server.url}/api/v1/me", 1, header=header)
        result = {
            "health": wrk_run(f"{server.url}/api/v1/health", seconds)[1],
            "me": wrk_run(f"{server.url}/api/v1/me", seconds, header=header)[1],
        }
        if with_mcp:
            result["mcp"] = mcp_rate(server.url, key, seconds)
    return result


def main(rounds: int = 3, seconds: int = 4) -> list[tuple[str, float, str]]:
    env, key = prepare_database()
    env = {**env, "DRAIN_SECONDS": "0"}
    peer_env, peer_key = prepare_peer()
    ours_runs, peer_runs = [], []
    for round_number in range(rounds):
        order = [("ours", env, key, True), ("peer", peer_env, peer_key, False)]
        if round_number % 2:
            order.reverse()
        for name, environment, secret, with_mcp in order:
            cwd = PEER if name == "peer" else None
            app = "peer_wsgi:application" if name == "peer" else "genesis.wsgi:application"
            result = rates(GRANIAN_PRODUCTION(app, cwd), environment, secret, seconds, with_mcp)
            (ours_runs if name == "ours" else peer_runs).append(result)
        print(f"round {round_number + 1}/{rounds} done", file=sys.stderr)

    def ratios(numerator, denominator):
        return median([n / d for n, d in zip(numerator, denominator, strict=True)])

    ours_me = [run["me"] for run in ours_runs]
    in_process = inprocess.main()
    return [
        ("ours /api/v1/health req/s", median([run["health"] for run in ours_runs]), ""),
        ("ours /api/v1/me req/s", median(ours_me), ""),
        ("ours MCP tools/call whoami req/s", median([run["mcp"] for run in ours_runs]), ""),
        ("peer /api/v1/health req/s", median([run["health"] for run in peer_runs]), ""),
        ("peer /api/v1/me req/s", median([run["me"] for run in peer_runs]), ""),
        ("ours /me vs peer /me", ratios(ours_me, [run["me"] for run in peer_runs]), ">= 2.0"),
        (
            "ours /health vs peer /health",
            ratios([r["health"] for r in ours_runs], [r["health"] for r in peer_runs]),
            ">= 1.0",
        ),
        ("MCP whoami vs ours /me", ratios([r["mcp"] for r in ours_runs], ours_me), ">= 0.5"),
        ("in one process: ours /me µs", in_process["ours"]["me"], ""),
        ("in one process: peer /health µs", in_process["peer"]["health"], ""),
        (
            "in one process: ours /me vs peer /health",
            in_process["ours"]["me"] / in_process["peer"]["health"],
            "<= 2.5",
        ),
    ]


if __name__ == "__main__":
    print("| HTTP | value | target |\n|---|---|---|")
    for name, value, target in main():
        print(f"| {name} | {value:,.2f} | {target} |")
