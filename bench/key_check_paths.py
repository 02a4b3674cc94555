"""What the two shortcuts on every key-authenticated request buy, in one process, taken
in alternating batches so the machine's drift falls on both sides alike:

- the key check on the driver's connection (apikeys.services._key_check_row) against
  the same check through Django's cursor wrapper (forced here by a pass-through
  execute_wrapper, as tracing would install);
- the remembered client-address decision (infra.client_ip._resolve) against parsing
  the addresses again.

    python bench/key_check_paths.py
"""

import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import prepare_database  # noqa: E402


def passthrough(execute, sql, params, many, context):
    return execute(sql, params, many, context)


def main(rounds: int = 40, count: int = 500) -> list[tuple[str, float, float]]:
    env, key = prepare_database()
    os.environ.update(env)
    from django.db import connection

    import genesis.wsgi  # noqa: F401  (sets Django up as production does)
    from apikeys import services
    from genesis import client_ip

    def driver():
        services.authenticate(key, "127.0.0.1")

    def wrapped():
        with connection.execute_wrapper(passthrough):
            services.authenticate(key, "127.0.0.1")

    parse = client_ip._resolve.__wrapped__  # the undecorated function
    trusted = ("10.0.0.0/8",)

    def remembered():
        client_ip._resolve("10.0.0.1", "198.51.100.7, 10.0.0.2", trusted)

    def parsed():
        parse("10.0.0.1", "198.51.100.7, 10.0.0.2", trusted)

    pairs = {"key check": (driver, wrapped), "client address": (remembered, parsed)}
    results = []
    for name, (fast, slow) in pairs.items():
        timings = {fast: [], slow: []}
        for _ in range(rounds):
            for variant in (fast, slow):
                started = time.perf_counter()
                for _ in range(count):
                    variant()
                timings[variant].append((time.perf_counter() - started) / count * 1e6)
        results.append((name, min(timings[fast]), min(timings[slow])))
    return results


if __name__ == "__main__":
    print("| in one process, µs (best batch) | shortcut | without |\n|---|---|---|")
    for name, fast, slow in main():
        print(f"| {name} | {fast:.1f} | {slow:.1f} |")
