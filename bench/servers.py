"""Which server to run in production: each candidate with one worker, production settings,
SQLite, wrk -t2 -c8 on loopback, in one run, alternating, several rounds, medians.

For each: /api/v1/health, /api/v1/me (valid key), MCP tools/call whoami as a plain
stateless JSON-RPC POST (where the candidate serves /mcp), the memory of the whole server
(all its processes, after the load) and its cold start (from the command to the first
answer). The peer (DRF + djangorestframework-api-key) under the WSGI servers, for scale.

    python bench/servers.py [--rounds 3] [--seconds 4]
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from common import BIN, PEER, ROOT, free_port, median, prepare_database, prepare_peer, wrk_run

WHOAMI = Path(__file__).resolve().parent / "mcp_whoami.lua"


def uvicorn(app):
    return lambda port: [
        str(BIN / "uvicorn"), app, "--port", str(port), "--no-proxy-headers",
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip


def granian(app, interface, cwd=ROOT, *extra):
    return lambda port: [
        str(BIN / "granian"), "--interface", interface, "--host", "127.0.0.1",
        "--port", str(port), "--workers", "1", "--no-ws", "--log-level", "warning",
        "--working-dir", str(cwd), *extra, app,
    ]  # fmt: skip


def GRANIAN_PRODUCTION(app, cwd=None):
    """The production command (docs/deploy/genesis.service) with one worker."""
    return granian(app, "wsgi", cwd or ROOT, "--blocking-threads", "1")


def gunicorn(app, cwd=ROOT):
    return lambda port: [
        str(BIN / "gunicorn"), app, "-w", "1", "-b", f"127.0.0.1:{port}", "--chdir", str(cwd),
        "--forwarded-allow-ips", "",
    ]  # fmt: skip


# name: (command, serves /mcp, is the peer, extra environment)
CANDIDATES = {
    "uvicorn genesis.asgi, 2 WSGI threads": (uvicorn("genesis.asgi:application"), True, False, {}),
    "uvicorn genesis.asgi, 1 WSGI thread": (
        uvicorn("genesis.asgi:application"), True, False, {"WSGI_THREADS": "1"},
    ),
    "granian ASGI genesis.asgi, 2 WSGI threads": (
        granian("genesis.asgi:application", "asgi"), True, False, {},
    ),
    "granian WSGI genesis.wsgi, default threads": (
        granian("genesis.wsgi:application", "wsgi"), True, False, {},
    ),
    "granian WSGI genesis.wsgi, 1 blocking thread": (
        granian("genesis.wsgi:application", "wsgi", ROOT, "--blocking-threads", "1"),
        True, False, {},
    ),
    "gunicorn sync genesis.wsgi": (gunicorn("genesis.wsgi:application"), True, False, {}),
    "peer: granian WSGI": (granian("peer_wsgi:application", "wsgi", PEER), False, True, {}),
    "peer: granian WSGI, 1 blocking thread": (
        granian("peer_wsgi:application", "wsgi", PEER, "--blocking-threads", "1"), False, True, {},
    ),
    "peer: gunicorn sync": (gunicorn("peer_wsgi:application", PEER), False, True, {}),
}  # fmt: skip


class Server:
    """A server command in a process group of its own, from start to its first answer."""

    def __init__(self, argv, env):
        self.argv, self.env = argv, env

    def __enter__(self):
        started = time.perf_counter()
        self.process = subprocess.Popen(  # noqa: S603
            self.argv,
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        port = self.argv[self.argv.index("--port") + 1] if "--port" in self.argv else None
        port = port or self.argv[self.argv.index("-b") + 1].rsplit(":", 1)[1]
        self.url = f"http://127.0.0.1:{port}"
        deadline = started + 60
        while time.perf_counter() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/health", timeout=1):  # noqa: S310
                    self.cold_start = time.perf_counter() - started
                    return self
            except OSError:
                time.sleep(0.02)
        self.__exit__()
        raise RuntimeError(f"server did not start: {self.argv}")

    def memory_mib(self) -> float:
        """Resident memory of the server's processes (a master and its workers)."""
        pids = subprocess.run(  # noqa: S603
            ["/usr/bin/pgrep", "-g", str(self.process.pid)], capture_output=True, text=True
        ).stdout.split()
        total = 0
        for pid in pids:
            status = Path(f"/proc/{pid}/status").read_text()
            total += int(re.search(r"^VmRSS:\s+(\d+)", status, re.M).group(1))
        return total / 1024

    def __exit__(self, *exc):
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


def mcp_rate(url: str, key: str, seconds: int) -> float:
    argv = [
        "wrk", "-t2", "-c8", f"-d{seconds}s", "-s", str(WHOAMI),
        "-H", f"Authorization: Bearer {key}", f"{url}/mcp",
    ]  # fmt: skip
    output = subprocess.run(argv, check=True, capture_output=True, text=True).stdout  # noqa: S603
    if re.search(r"Non-2xx or 3xx responses: \d+", output):
        raise RuntimeError(f"MCP errors under load:\n{output}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))


def measure(name, argv, serves_mcp, env, key, seconds) -> dict:
    port = free_port()
    with Server(argv(port), env) as server:
        url, header = server.url, f"x-api-key: {key}"
        wrk_run(f"{url}/api/v1/health", 1)  # warm up both paths
        wrk_run(f"{url}/api/v1/me", 1, header=header)
        result = {
            "health": wrk_run(f"{url}/api/v1/health", seconds)[1],
            "me": wrk_run(f"{url}/api/v1/me", seconds, header=header)[1],
            "mcp": mcp_rate(url, key, seconds) if serves_mcp else None,
            "memory": server.memory_mib(),
            "cold start": server.cold_start,
        }
    return result


def run(rounds: int = 3, seconds: int = 4) -> dict:
    env, key = prepare_database()
    env = {**env, "DRAIN_SECONDS": "0"}
    peer_env, peer_key = prepare_peer()
    results = {name: [] for name in CANDIDATES}
    for round_number in range(rounds):
        names = list(CANDIDATES)
        if round_number % 2:
            names.reverse()  # alternate the order: the machine's speed drifts
        for name in names:
            argv, serves_mcp, is_peer, extra = CANDIDATES[name]
            environment = {**(peer_env if is_peer else env), **extra}
            results[name].append(
                measure(name, argv, serves_mcp, environment, peer_key if is_peer else key, seconds)
            )
        print(f"round {round_number + 1}/{rounds} done", file=sys.stderr)
    return {
        name: {
            field: (median(values) if None not in values else None)
            for field in runs[0]
            for values in [[run[field] for run in runs]]
        }
        for name, runs in results.items()
    }


def table(results: dict) -> str:
    lines = [
        "| server (1 worker) | /health req/s | /me req/s | MCP whoami req/s | memory MiB "
        "| cold start s |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in results.items():
        mcp = f"{row['mcp']:,.0f}" if row["mcp"] is not None else "-"
        lines.append(
            f"| {name} | {row['health']:,.0f} | {row['me']:,.0f} | {mcp} | "
            f"{row['memory']:,.0f} | {row['cold start']:.2f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=4)
    args = parser.parse_args()
    print(table(run(args.rounds, args.seconds)))
