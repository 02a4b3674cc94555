"""The key check on PostgreSQL, two ways: the database option `server_side_binding` (as
genesis.settings sets it: psycopg prepares a statement it has run 5 times on a
connection) and Django's default (parameters bound on the client, every statement
planned anew). Calls per second of apikeys.services.authenticate, one process each,
best of 5. With BENCH_DATABASE_URL set to a scratch PostgreSQL database:

    python bench/key_check_pg.py
"""

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VARIANTS = ("server_side_binding", "client-side binding")


def measure(variant: str) -> float:
    sys.path.insert(0, str(HERE))
    from common import setup_django_in_process

    setup_django_in_process("keycheck")
    from django.db import connection
    from verify import rate

    from apikeys import services
    from organizations.models import User
    from organizations.services import create_organization

    if variant == "client-side binding":
        connection.close()
        connection.settings_dict["OPTIONS"]["server_side_binding"] = False
    user = User.objects.create_user("pg@example.com", "x", name="PG")
    _, key = services.create_key(user, create_organization("PG", "pg", user), "bench")
    if services.authenticate(key) is None:
        raise RuntimeError("the key was refused: nothing would be measured")
    return max(rate(lambda: services.authenticate(key), 1.0) for _ in range(5))


def main() -> dict:
    if not os.environ.get("BENCH_DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Set BENCH_DATABASE_URL to a scratch PostgreSQL database.")
    results = {}
    for variant in VARIANTS:
        output = subprocess.run(  # noqa: S603
            [sys.executable, __file__, variant], check=True, capture_output=True, text=True
        ).stdout
        results[variant] = json.loads(output.strip().splitlines()[-1])
    return results


if __name__ == "__main__":
    if len(sys.argv) > 1:
        print(json.dumps(measure(sys.argv[1])))
    else:
        print("| key check on PostgreSQL | calls/s |\n|---|---|")
        for variant, calls in main().items():
            print(f"| {variant} | {calls:,.0f} |")
