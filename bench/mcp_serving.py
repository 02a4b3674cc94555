"""The MCP server's own command: MCP tools/call whoami under the shipped ASGI command
(genesis-mcp.service, one worker) with each event loop, and under uvicorn, all running for
the whole run, alternating, 3 s each, wrk -t2 -c8.

granian's --loop defaults to "auto": uvloop when it is installed, else asyncio. uvloop
comes with uvicorn[standard] (a development dependency); an install without it runs
asyncio's loop. So both are measured, named.

    python bench/mcp_serving.py [--rounds 7] [--seconds 3]
"""

import argparse
import contextlib
import importlib.util
import sys

from common import (
    BIN,
    CURRENT,
    MCP_UNIT,
    ROOT,
    Server,
    command,
    free_port,
    load_average,
    mcp_rate,
    mcp_whoami,
    prepare_database,
    spread,
)


def candidates(env: dict) -> dict[str, Server]:
    servers = {}
    loops = ["asyncio"] + (["uvloop"] if importlib.util.find_spec("uvloop") else [])
    for loop in loops:
        port = free_port()
        argv, cwd = command(CURRENT, MCP_UNIT, port)
        argv[-1:-1] = ["--loop", loop]
        servers[f"granian ASGI (genesis-mcp.service), --loop {loop}"] = Server(argv, env, cwd, port)
    if (BIN / "uvicorn").exists():
        for loop, http in (("asyncio", "h11"), ("auto", "auto")):
            port = free_port()
            argv = [
                str(BIN / "uvicorn"), "genesis.asgi:application", "--host", "127.0.0.1",
                "--port", str(port), "--no-proxy-headers", "--no-access-log",
                "--log-level", "warning", "--loop", loop, "--http", http,
            ]  # fmt: skip
            servers[f"uvicorn --loop {loop} --http {http}"] = Server(argv, env, ROOT, port)
    return servers


def main(rounds: int = 7, seconds: int = 3) -> tuple[dict, list[str]]:
    env, key = prepare_database()
    servers = candidates(env)
    rates = {name: [] for name in servers}
    loads = [load_average()]
    with contextlib.ExitStack() as stack:
        for server in servers.values():
            stack.enter_context(server)
            mcp_whoami(server.url, key)
            mcp_rate(server.url, key, 1)
        for round_number in range(rounds):
            order = list(servers) if round_number % 2 == 0 else list(servers)[::-1]
            for name in order:
                rates[name].append(mcp_rate(servers[name].url, key, seconds))
            loads.append(load_average())
            print(f"round {round_number + 1}/{rounds}, load {loads[-1]}", file=sys.stderr)
    return rates, loads


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=int, default=3)
    args = parser.parse_args()
    rates, loads = main(args.rounds, args.seconds)
    print("| MCP server, 1 worker | tools/call whoami req/s, median (range) |\n|---|---|")
    for name, values in rates.items():
        print(f"| {name} | {spread(values)} |")
    print(f"\nload average at the start and after each round: {', '.join(loads)}")
