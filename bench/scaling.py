"""The figures docs/scaling.md builds on: one app worker (genesis-web.service's command,
one worker) answering /api/v1/me with a valid key on PostgreSQL, wrk -t2 -c8 on
loopback; requests per second, and the CPU time the worker and PostgreSQL each spent per
request (from /proc: the server's process group, and the PostgreSQL backends of the
bench database), so the CPU per key check on each side.

    BENCH_DATABASE_URL=postgres://genesis:genesis@127.0.0.1:5432/genesis_bench \\
        python bench/scaling.py [--rounds 5] [--seconds 5]
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

import psycopg
from common import (
    CURRENT,
    EXTERNAL_DATABASE,
    WEB_UNIT,
    Server,
    check_me,
    load_average,
    median,
    prepare_database,
    wrk_run,
)

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids) -> float:
    """User + system CPU time of these processes so far (fields 14 and 15 of
    /proc/PID/stat); a process gone meanwhile counts nothing."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


def server_pids(server: Server) -> list[str]:
    return subprocess.run(  # noqa: S603
        ["/usr/bin/pgrep", "-g", str(server.process.pid)], capture_output=True, text=True
    ).stdout.split()


def backend_pids(database_url: str) -> list[int]:
    """The PostgreSQL backends connected to the bench database (the worker's), not this
    query's own."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return [pid for (pid,) in rows]


def main(rounds: int, seconds: int) -> None:
    if not (EXTERNAL_DATABASE or "").startswith("postgres"):
        raise SystemExit("Set BENCH_DATABASE_URL to a scratch PostgreSQL database.")
    env, key = prepare_database()
    loads = [load_average()]
    per_round = []
    with Server.of(CURRENT, WEB_UNIT, env) as server:
        check_me(server.url, key)
        url, header = f"{server.url}/api/v1/me", f"x-api-key: {key}"
        wrk_run(url, 1, header=header)  # warm up: connections, prepared statement
        app, database = server_pids(server), backend_pids(EXTERNAL_DATABASE)
        for number in range(rounds):
            app_before, db_before = cpu_seconds(app), cpu_seconds(database)
            served, per_second = wrk_run(url, seconds, header=header)
            app_cpu = cpu_seconds(app) - app_before
            db_cpu = cpu_seconds(database) - db_before
            per_round.append((per_second, app_cpu / served * 1e6, db_cpu / served * 1e6))
            print(
                f"round {number + 1}/{rounds}: {per_second:,.0f} req/s, app "
                f"{per_round[-1][1]:.0f} µs, PostgreSQL {per_round[-1][2]:.0f} µs CPU a request",
                file=sys.stderr,
            )
        loads.append(load_average())
    rates, app_us, db_us = zip(*per_round, strict=True)
    print("| one worker, /api/v1/me on PostgreSQL | median (range) |\n|---|---|")
    print(f"| requests per second | {median(rates):,.0f} ({min(rates):,.0f}-{max(rates):,.0f}) |")
    print(f"| app worker CPU per request, µs | {median(app_us):.0f} ({min(app_us):.0f}-"
          f"{max(app_us):.0f}) |")  # fmt: skip
    print(f"| PostgreSQL CPU per request, µs | {median(db_us):.0f} ({min(db_us):.0f}-"
          f"{max(db_us):.0f}) |")  # fmt: skip
    print(f"| load average during the run | {loads[0]} → {loads[-1]} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    arguments = parser.parse_args()
    main(arguments.rounds, arguments.seconds)
