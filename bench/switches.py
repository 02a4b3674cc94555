"""Where /api/v1/me's extra time goes under uvicorn: CPU time and voluntary context switches
per request, /health against /me, read from /proc for the server process (Linux).

A voluntary switch is a thread going to sleep: in this server, a WSGI thread waiting for
the event loop (a2wsgi hands each response over to it) or waiting to take the GIL back
after a C call released it (SQLite releases it around every step of a query).

Usage: python bench/switches.py [--rounds 3] [--seconds 4]
"""

import argparse
import os
import re
import sys
from pathlib import Path

from common import Server, free_port, median, prepare_database, wrk_run
from http_load import uvicorn

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    # /proc/<pid>/stat fields 14 and 15: user and system time of all threads, in ticks.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def voluntary_switches(pid: int) -> int:
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        status = Path(f"/proc/{pid}/task/{task}/status").read_text()
        total += int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", status, re.M).group(1))
    return total


def measure(url: str, pid: int, seconds: int, header: str | None) -> tuple[float, float, float]:
    """Requests/s, CPU µs per request and voluntary switches per request."""
    cpu, switches = cpu_seconds(pid), voluntary_switches(pid)
    requests, rate = wrk_run(url, seconds, header=header)
    cpu, switches = cpu_seconds(pid) - cpu, voluntary_switches(pid) - switches
    return rate, cpu / requests * 1e6, switches / requests


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=4)
    args = parser.parse_args()
    env, key = prepare_database()
    rows = {"/api/v1/health": [], "/api/v1/me": []}
    for round_number in range(1, args.rounds + 1):
        port = free_port()
        with Server(uvicorn(port), env, port) as server:
            measure(f"{server.url}/api/v1/health", server.process.pid, 1, None)  # warm up
            for path in rows:
                header = f"x-api-key: {key}" if path.endswith("/me") else None
                rows[path].append(
                    measure(server.url + path, server.process.pid, args.seconds, header)
                )
        print(f"round {round_number}/{args.rounds} done", file=sys.stderr)
    print("\n| uvicorn genesis.asgi | req/s | CPU µs / request | voluntary switches / request |")
    print("|---|---|---|---|")
    for path, results in rows.items():
        rate, cpu, switches = (median(column) for column in zip(*results, strict=True))
        print(f"| `{path}` | {rate:,.0f} | {cpu:,.0f} | {switches:.1f} |")


if __name__ == "__main__":
    main()
