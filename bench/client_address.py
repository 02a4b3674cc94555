"""What remembering the client-address decision buys (infra.client_ip: `_resolve` is an
lru_cache of a pure function, run on every request), in one process, in alternating
batches so the machine's drift falls on both sides alike: the remembered decision against
parsing the addresses again (the undecorated function).

    python bench/client_address.py
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(rounds: int = 40, count: int = 2000) -> list[tuple[str, float, float]]:
    from common import bench_env

    os.environ.update(bench_env("/nonexistent.sqlite3"), DJANGO_SETTINGS_MODULE="genesis.settings")
    import django

    django.setup()
    from infra import client_ip

    parse = client_ip._resolve.__wrapped__  # the undecorated function
    trusted = ("10.0.0.0/8",)
    cases = {
        "peer only": ("198.51.100.7", ""),
        "behind a trusted proxy": ("10.0.0.1", "198.51.100.7, 10.0.0.2"),
    }
    results = []
    for name, (peer, forwarded) in cases.items():
        timings = {"remembered": [], "parsed": []}
        for _ in range(rounds):
            for variant, function in (("remembered", client_ip._resolve), ("parsed", parse)):
                started = time.perf_counter()
                for _ in range(count):
                    function(peer, forwarded, trusted)
                timings[variant].append((time.perf_counter() - started) / count * 1e6)
        results.append((name, min(timings["remembered"]), min(timings["parsed"])))
    return results


if __name__ == "__main__":
    print("| client address, µs (best batch) | remembered | parsed |\n|---|---|---|")
    for name, fast, slow in main():
        print(f"| {name} | {fast:.2f} | {slow:.2f} |")
