"""How to serve the console and API: requests per second of /api/v1/health and
/api/v1/me (valid key) under each way of serving, one worker each, alternating, several
rounds; medians. Usage: python bench/serving.py [--rounds 3] [--seconds 5]"""

import argparse
import sys

from common import BIN, Server, free_port, median, prepare_database, wrk

SERVERS = {
    "gunicorn genesis.wsgi (1 sync worker)": lambda port: [
        str(BIN / "gunicorn"), "genesis.wsgi:application", "-w", "1", "-b", f"127.0.0.1:{port}",
    ],
    "uvicorn genesis.asgi (Django WSGI via a2wsgi)": lambda port: [
        str(BIN / "uvicorn"), "genesis.asgi:application", "--port", str(port),
        "--no-access-log", "--log-level", "warning",
    ],
    "uvicorn, Django's own ASGI handler": lambda port: [
        str(BIN / "uvicorn"), "bench.django_asgi:application", "--port", str(port),
        "--no-access-log", "--log-level", "warning",
    ],
}  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    env, key = prepare_database()
    results = {name: {"health": [], "me": []} for name in SERVERS}
    for round_number in range(1, args.rounds + 1):
        for name, argv in SERVERS.items():
            port = free_port()
            with Server(argv(port), env, port) as server:
                wrk(f"{server.url}/api/v1/health", seconds=1)  # warm up
                results[name]["health"].append(wrk(f"{server.url}/api/v1/health", args.seconds))
                results[name]["me"].append(
                    wrk(f"{server.url}/api/v1/me", args.seconds, header=f"x-api-key: {key}")
                )
        print(f"round {round_number}/{args.rounds} done", file=sys.stderr)
    print("\n| server | /api/v1/health req/s | /api/v1/me req/s | me/health |")
    print("|---|---|---|---|")
    for name, numbers in results.items():
        health, me = median(numbers["health"]), median(numbers["me"])
        print(f"| {name} | {health:,.0f} | {me:,.0f} | {me / health:.2f} |")


if __name__ == "__main__":
    main()
