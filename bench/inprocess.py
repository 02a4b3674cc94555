"""One whole request in one process, no server and no network: microseconds per request
of /api/v1/health and /api/v1/me (valid key), calling each project's WSGI application
directly, best of 5 x 1,000. Ours and the peer each in a process of its own.

    python bench/inprocess.py            # both, as a table
    python bench/inprocess.py ours|peer  # one, as JSON (what the table runs)
"""

import json
import subprocess
import sys
import time
from io import BytesIO
from pathlib import Path

HERE = Path(__file__).resolve().parent


def environ(path: str, headers: dict[str, str]) -> dict:
    base = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    base.update(
        {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}
    )
    return base


def microseconds(application, path: str, headers: dict, runs: int = 5, count: int = 1000):
    statuses = []

    def start_response(status, response_headers, exc_info=None):
        statuses.append(status)

    def one():
        body = application(environ(path, headers), start_response)
        b"".join(body)
        if hasattr(body, "close"):
            body.close()

    for _ in range(50):  # warm up: caches, prepared statements, the last-used write
        one()
    if not statuses[-1].startswith("200"):
        raise RuntimeError(f"{path} answered {statuses[-1]}: nothing would be measured")
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        for _ in range(count):
            one()
        best = min(best, (time.perf_counter() - started) / count * 1e6)
    return best


def measure(which: str) -> dict:
    sys.path.insert(0, str(HERE))
    if which == "ours":
        from common import prepare_database

        env, key = prepare_database()
        import os

        os.environ.update(env)
        from genesis.wsgi import application
    else:
        import os

        from common import prepare_peer

        env, key = prepare_peer()
        os.environ.update(env)
        sys.path.insert(0, str(HERE / "peer"))
        from peer_wsgi import application
    return {
        "health": microseconds(application, "/api/v1/health", {}),
        "me": microseconds(application, "/api/v1/me", {"X-Api-Key": key}),
    }


def run(which: str) -> dict:
    result = subprocess.run(  # noqa: S603
        [sys.executable, __file__, which], check=True, capture_output=True, text=True, cwd=HERE
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> dict:
    return {"ours": run("ours"), "peer": run("peer")}


if __name__ == "__main__":
    if len(sys.argv) > 1:
        print(json.dumps(measure(sys.argv[1])))
    else:
        results = main()
        print("| in one process, µs per request | /api/v1/health | /api/v1/me |\n|---|---|---|")
        for name, numbers in results.items():
            print(f"| {name} | {numbers['health']:.0f} | {numbers['me']:.0f} |")
