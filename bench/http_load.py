"""HTTP, on the production server (granian WSGI, one blocking thread, one worker),
production settings, SQLite, wrk -t2 -c8 on loopback: ours against the peer (DRF +
djangorestframework-api-key) on the same server command, and MCP whoami against ours
/me; medians of the per-round ratios.

Both servers run for the whole run and are measured in turn, a few seconds each, the
order alternating between rounds: this machine's speed drifts by tens of percent within
a minute, so the two figures of a ratio are taken seconds apart, never a server's start
apart.

Also in one process (bench/inprocess.py): ours /me against the peer's /health, the floor
a Django request costs there."""

import sys

import inprocess
from common import PEER, median, prepare_database, prepare_peer
from servers import GRANIAN_PRODUCTION, Server, free_port, mcp_rate, wrk_run


def main(rounds: int = 7, seconds: int = 3) -> list[tuple[str, float, str]]:
    env, key = prepare_database()
    env = {**env, "DRAIN_SECONDS": "0"}
    peer_env, peer_key = prepare_peer()
    ours_runs, peer_runs = [], []
    with (
        Server(GRANIAN_PRODUCTION("genesis.wsgi:application")(free_port()), env) as ours,
        Server(GRANIAN_PRODUCTION("peer_wsgi:application", PEER)(free_port()), peer_env) as peer,
    ):
        servers = {"ours": (ours.url, key, ours_runs), "peer": (peer.url, peer_key, peer_runs)}
        for url, secret, _ in servers.values():  # warm up
            wrk_run(f"{url}/api/v1/health", 1)
            wrk_run(f"{url}/api/v1/me", 1, header=f"x-api-key: {secret}")
        mcp_rate(ours.url, key, 1)
        for round_number in range(rounds):
            order = ["ours", "peer"] if round_number % 2 == 0 else ["peer", "ours"]
            results = {name: {} for name in order}
            for path in ("health", "me"):
                for name in order:
                    url, secret, _ = servers[name]
                    header = f"x-api-key: {secret}" if path == "me" else None
                    results[name][path] = wrk_run(f"{url}/api/v1/{path}", seconds, header=header)[1]
            # After both /me figures, so the two of that ratio are taken back to back.
            results["ours"]["mcp"] = mcp_rate(ours.url, key, seconds)
            for name, (_, _, runs) in servers.items():
                runs.append(results[name])
            figures = ", ".join(
                f"{name} {path} {rate:.0f}"
                for name in servers
                for path, rate in results[name].items()
            )
            print(f"round {round_number + 1}/{rounds}: {figures}", file=sys.stderr)

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
