"""Why the console and API run under granian's WSGI interface: CPU time and voluntary
context switches per request, /health and /me, read from /proc for the server's
processes (Linux), under the production WSGI command (genesis-web.service: one blocking
thread) and under the MCP server's ASGI command serving the same requests through
Django's ASGI handler (genesis.asgi), one worker each.

A voluntary switch is a thread going to sleep: under ASGI, Django runs the sync
middleware and view in a thread beside the event loop and hands each request and
response between them; under WSGI with one blocking thread, a request stays on it.

Usage: python bench/switches.py [--rounds 3] [--seconds 4]
"""

import argparse
import os
import re
import sys
from pathlib import Path

from common import CURRENT, MCP_UNIT, WEB_UNIT, Server, median, prepare_database, wrk_run

SERVERS = {
    "granian WSGI genesis.wsgi (genesis-web.service)": WEB_UNIT,
    "granian ASGI genesis.asgi (genesis-mcp.service)": MCP_UNIT,
}

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def processes(group: int) -> list[int]:
    """The server's processes: a master and its workers share its process group."""
    return [
        int(pid) for pid in os.listdir("/proc") if pid.isdigit() and _group_of(int(pid)) == group
    ]


def _group_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[2])
    except (OSError, IndexError, ValueError):
        return None


def cpu_seconds(pids: list[int]) -> float:
    # /proc/<pid>/stat fields 14 and 15: user and system time of all threads, in ticks.
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def voluntary_switches(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:  # a thread may end meanwhile (its count goes with it)
                status = Path(f"/proc/{pid}/task/{task}/status").read_text()
            except OSError:
                continue
            total += int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", status, re.M).group(1))
    return total


def measure(url: str, group: int, seconds: int, header: str | None) -> tuple[float, float, float]:
    """Requests/s, CPU µs per request and voluntary switches per request."""
    pids = processes(group)
    cpu, switches = cpu_seconds(pids), voluntary_switches(pids)
    requests, rate = wrk_run(url, seconds, header=header)
    cpu, switches = cpu_seconds(pids) - cpu, voluntary_switches(pids) - switches
    return rate, cpu / requests * 1e6, switches / requests


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=4)
    args = parser.parse_args()
    env, key = prepare_database()
    rows = {(name, path): [] for name in SERVERS for path in ("/api/v1/health", "/api/v1/me")}
    for round_number in range(1, args.rounds + 1):
        for name, unit in SERVERS.items():
            with Server.of(CURRENT, unit, env) as server:
                group = server.process.pid
                measure(f"{server.url}/api/v1/health", group, 1, None)  # warm up
                for server_name, path in rows:
                    if server_name != name:
                        continue
                    header = f"x-api-key: {key}" if path.endswith("/me") else None
                    rows[(name, path)].append(
                        measure(server.url + path, group, args.seconds, header)
                    )
        print(f"round {round_number}/{args.rounds} done", file=sys.stderr)
    print("\n| server | path | req/s | CPU µs / request | voluntary switches / request |")
    print("|---|---|---|---|---|")
    for (name, path), results in rows.items():
        rate, cpu, switches = (median(column) for column in zip(*results, strict=True))
        print(f"| {name} | `{path}` | {rate:,.0f} | {cpu:,.0f} | {switches:.1f} |")


if __name__ == "__main__":
    main()
