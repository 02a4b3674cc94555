"""The round trips of one steady-state /api/v1/me on PostgreSQL and Redis: every statement
psycopg sends and every command redis-py sends, counted by wrapping their send calls,
for one request through the production WSGI application in this process.

    BENCH_DATABASE_URL=postgres://…/scratch BENCH_REDIS_URL=redis://…/3 python bench/round_trips.py
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> list[tuple[str, str]]:
    import common

    if not (common.EXTERNAL_DATABASE and common.EXTERNAL_REDIS):
        raise SystemExit("Set BENCH_DATABASE_URL (PostgreSQL) and BENCH_REDIS_URL.")
    env, key = common.prepare_database()
    os.environ.update(env)
    import psycopg
    import redis.connection
    from inprocess import environ

    from genesis.wsgi import application

    sent = []

    def counting(cls, name, kind):
        real = getattr(cls, name)

        def wrapper(self, *args, **kwargs):
            sent.append((kind, " ".join(str(arg) for arg in args[:2]).split()[:8]))
            return real(self, *args, **kwargs)

        setattr(cls, name, wrapper)

    counting(psycopg.Cursor, "execute", "PostgreSQL")  # Connection.execute runs a Cursor's
    counting(redis.connection.AbstractConnection, "send_command", "Redis")

    def request():
        body = application(environ("/api/v1/me", {"X-Api-Key": key}), lambda *args: None)
        b"".join(body)
        body.close()

    for _ in range(10):  # past the first use's write, with the statement prepared
        request()
    sent.clear()
    request()
    return [(kind, " ".join(words)) for kind, words in sent]


if __name__ == "__main__":
    trips = main()
    print(f"| round trip ({len(trips)} in all) | sent |\n|---|---|")
    for kind, what in trips:
        print(f"| {kind} | `{what}` |")
