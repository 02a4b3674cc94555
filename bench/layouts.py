"""Which serving layout: the documented options, each with one worker per process,
production settings, SQLite, wrk -t2 -c8 on loopback, all running for the whole run and
measured in turn, the order reversed every other round; medians and ranges of the rounds.

(a) one ASGI process: granian ASGI (the MCP unit's flags), genesis.asgi: Django's ASGI
    handler for the console and API, the SDK's app at /mcp;
(b) the production layout: granian WSGI genesis.wsgi (genesis-web.service) for the
    console and API, granian ASGI genesis.asgi (genesis-mcp.service) for /mcp;
(c) one ASGI process: granian ASGI, genesis.wsgi under a2wsgi (bench/a2wsgi_app.py) for
    the console and API, the SDK's app at /mcp;
and (a) again under uvicorn (one worker, --no-proxy-headers), where uvicorn is installed.

For each: /api/v1/health, /api/v1/me and MCP tools/call whoami alone; "mixed", /me and
whoami loaded at once (two wrk, -t1 -c4 each: the sum of both rates); the memory of all
the layout's processes after the load, and the cold start (command to first answer).

    python bench/layouts.py [--rounds 5] [--seconds 3]
"""

import argparse
import concurrent.futures
import contextlib
import sys

from common import (
    BENCH,
    BIN,
    CURRENT,
    MCP_UNIT,
    ROOT,
    WEB_UNIT,
    WHOAMI,
    Server,
    check_me,
    free_port,
    load_average,
    mcp_rate,
    mcp_whoami,
    median,
    prepare_database,
    rate,
    wrk_run,
)

LAYOUTS = {
    "(a) granian ASGI: genesis.asgi (Django's ASGI handler + the SDK's app)": "a",
    "(b) granian WSGI genesis.wsgi + granian ASGI genesis.asgi for /mcp (chosen)": "b",
    "(c) granian ASGI: genesis.wsgi under a2wsgi + the SDK's app": "c",
    "(a) under uvicorn: genesis.asgi": "u",
}


def servers_of(layout: str, env: dict) -> dict[str, Server]:
    """The layout's servers: "web" answers the console and API, "mcp" answers /mcp."""
    if layout == "a":
        one = Server.of(CURRENT, MCP_UNIT, env)
        return {"web": one, "mcp": one}
    if layout == "u":
        port = free_port()
        argv = [
            str(BIN / "uvicorn"), "genesis.asgi:application", "--host", "127.0.0.1",
            "--port", str(port), "--no-proxy-headers", "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        one = Server(argv, env, ROOT, port)
        return {"web": one, "mcp": one}
    if layout == "b":
        return {"web": Server.of(CURRENT, WEB_UNIT, env), "mcp": Server.of(CURRENT, MCP_UNIT, env)}
    one = Server.of(CURRENT, MCP_UNIT, env, app="a2wsgi_app:application", cwd=BENCH)
    return {"web": one, "mcp": one}


def mixed(web: str, mcp: str, key: str, seconds: int) -> float:
    """/me and MCP whoami at once, one wrk each (-t1 -c4): the two rates summed."""
    me = {"header": f"x-api-key: {key}"}
    call = {"header": f"Authorization: Bearer {key}", "script": WHOAMI}
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        loads = [
            pool.submit(wrk_run, url, seconds, 4, threads=1, **options)
            for url, options in ((f"{web}/api/v1/me", me), (f"{mcp}/mcp", call))
        ]
        return sum(load.result()[1] for load in loads)


def main(rounds: int = 5, seconds: int = 3) -> tuple[dict, list[str]]:
    env, key = prepare_database()
    layouts = {
        name: servers_of(letter, env)
        for name, letter in LAYOUTS.items()
        if letter != "u" or (BIN / "uvicorn").exists()
    }
    fields = ("health", "me", "mcp", "mixed")
    results = {name: {field: [] for field in fields} for name in layouts}
    loads = [load_average()]
    with contextlib.ExitStack() as stack:
        cold = {}
        for name, servers in layouts.items():
            cold[name] = max(
                stack.enter_context(server).cold_start
                for server in {id(s): s for s in servers.values()}.values()
            )
            check_me(servers["web"].url, key)
            mcp_whoami(servers["mcp"].url, key)

        def measure(name, field, duration):
            web, mcp = layouts[name]["web"].url, layouts[name]["mcp"].url
            if field == "health":
                return rate(f"{web}/api/v1/health", duration)
            if field == "me":
                return rate(f"{web}/api/v1/me", duration, key)
            if field == "mcp":
                return mcp_rate(mcp, key, duration)
            return mixed(web, mcp, key, duration)

        for name in layouts:  # warm up
            for field in fields:
                measure(name, field, 1)
        for round_number in range(rounds):
            order = [(name, field) for field in fields for name in layouts]
            if round_number % 2:
                order.reverse()
            for name, field in order:
                results[name][field].append(measure(name, field, seconds))
            loads.append(load_average())
            print(f"round {round_number + 1}/{rounds} done, load {loads[-1]}", file=sys.stderr)
        memory = {
            name: sum(
                server.memory_mib() for server in {id(s): s for s in servers.values()}.values()
            )
            for name, servers in layouts.items()
        }
    summary = {
        name: {
            **{field: results[name][field] for field in fields},
            "memory": memory[name],
            "cold": cold[name],
        }
        for name in layouts
    }
    return summary, loads


def table(summary: dict) -> str:
    def cell(values):
        return f"{median(values):,.0f} ({min(values):,.0f}-{max(values):,.0f})"

    lines = [
        "| layout (1 worker per process) | /health req/s | /me req/s | MCP whoami req/s "
        "| mixed /me + whoami req/s | memory MiB | cold start s |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in summary.items():
        lines.append(
            f"| {name} | {cell(row['health'])} | {cell(row['me'])} | {cell(row['mcp'])} "
            f"| {cell(row['mixed'])} | {row['memory']:,.0f} | {row['cold']:.2f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=3)
    args = parser.parse_args()
    summary, loads = main(args.rounds, args.seconds)
    print(table(summary))
    print(f"\nload average (1, 5, 15 min) at the start and after each round: {', '.join(loads)}")
