"""HTTP: /api/v1/me (valid key) against /api/v1/health on the same uvicorn server, the
MCP whoami tool through the MCP SDK's client, and ours against the peer (DRF +
djangorestframework-api-key) under gunicorn with one sync worker. wrk on loopback.

The machine's speed drifts by ±20% over tens of seconds, so /me and /health are measured
in short back-to-back pairs (order alternating), a ratio per pair, on a fresh server each
round; the median of all pairs is reported."""

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from common import BIN, ROOT, Server, free_port, last_line, median, prepare_database, wrk

PEER = Path(__file__).resolve().parent / "peer"


def uvicorn(port):
    return [
        str(BIN / "uvicorn"), "genesis.asgi:application", "--port", str(port),
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip


def gunicorn(app, port, chdir=ROOT):
    return [
        str(BIN / "gunicorn"), app, "-w", "1", "-b", f"127.0.0.1:{port}", "--chdir", str(chdir),
    ]  # fmt: skip


def mcp_whoami_rate(url: str, key: str, seconds: float) -> float:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async def run():
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx2.AsyncClient(headers=headers, timeout=10) as http:
            transport = streamable_http_client(f"{url}/mcp", http_client=http)
            async with Client(transport) as client:
                await client.call_tool("whoami", {})
                calls, started = 0, time.perf_counter()
                while time.perf_counter() - started < seconds:
                    result = await client.call_tool("whoami", {})
                    if result.is_error:
                        raise RuntimeError("whoami failed")
                    calls += 1
                return calls / (time.perf_counter() - started)

    return asyncio.run(run())


def prepare_peer() -> tuple[dict, str]:
    database = Path(tempfile.mkdtemp(prefix="genesis-peer-")) / "peer.sqlite3"
    env = {**os.environ, "PEER_DB": str(database)}
    return env, last_line([sys.executable, "prepare.py"], env, PEER)


def me_vs_health(url: str, key: str, pairs: int, seconds: int) -> list[tuple[float, float]]:
    """(health, me) requests per second, measured back to back, `pairs` times."""
    me_header = f"x-api-key: {key}"
    wrk(f"{url}/api/v1/health", seconds=1)  # warm up both paths
    wrk(f"{url}/api/v1/me", seconds=1, header=me_header)
    results = []
    for pair in range(pairs):
        if pair % 2:
            me = wrk(f"{url}/api/v1/me", seconds, header=me_header)
            health = wrk(f"{url}/api/v1/health", seconds)
        else:
            health = wrk(f"{url}/api/v1/health", seconds)
            me = wrk(f"{url}/api/v1/me", seconds, header=me_header)
        results.append((health, me))
    return results


def main(rounds: int = 3, seconds: int = 5, pairs: int = 5) -> list[tuple[str, float, str]]:
    env, key = prepare_database()
    peer_env, peer_key = prepare_peer()
    health_rates, me_rates, mcp_rates, peer_ratios = [], [], [], []
    ours_rates, peer_rates = [], []
    for _ in range(rounds):
        port = free_port()
        with Server(uvicorn(port), env, port) as server:
            measured = me_vs_health(server.url, key, pairs, seconds=2)
            mcp_rates.append(mcp_whoami_rate(server.url, key, seconds))
        health_rates += [health for health, _ in measured]
        me_rates += [me for _, me in measured]
        port = free_port()
        with Server(gunicorn("genesis.wsgi:application", port), env, port) as server:
            ours = wrk(f"{server.url}/api/v1/me", seconds, header=f"x-api-key: {key}")
        port = free_port()
        with Server(gunicorn("peer_wsgi:application", port, PEER), peer_env, port) as server:
            peer = wrk(f"{server.url}/api/v1/me", seconds, header=f"x-api-key: {peer_key}")
        ours_rates.append(ours)
        peer_rates.append(peer)
        peer_ratios.append(ours / peer)
        pair_ratios = ", ".join(f"{me / health:.2f}" for health, me in measured)
        print(
            f"round done: me/health pairs {pair_ratios}; ours/peer {peer_ratios[-1]:.2f}",
            file=sys.stderr,
        )
    ratios = [me / health for health, me in zip(health_rates, me_rates, strict=True)]
    return [
        ("uvicorn genesis.asgi: /api/v1/health req/s", median(health_rates), ""),
        ("uvicorn genesis.asgi: /api/v1/me req/s", median(me_rates), ""),
        (f"/me vs /health (median of {len(ratios)} pairs)", median(ratios), ">= 0.75"),
        ("MCP whoami calls/s (SDK client, one session)", median(mcp_rates), ""),
        ("gunicorn genesis.wsgi, 1 sync worker: /me req/s", median(ours_rates), ""),
        ("peer (DRF + drf-api-key), gunicorn, 1 sync worker: /me req/s", median(peer_rates), ""),
        ("ours vs peer (median of rounds)", median(peer_ratios), ">= 1.0"),
    ]


if __name__ == "__main__":
    print("| HTTP | req/s or ratio | target |\n|---|---|---|")
    for name, value, target in main():
        print(f"| {name} | {value:,.2f} | {target} |")
