"""One whole request in one process, no server and no network: microseconds per request
of /api/v1/health and /api/v1/me (valid key), calling a project's WSGI application
directly, best of 5 x 1,000. Each project in a process of its own: ours, the peer, the
bare view (health only), and ours at another checkout (`--tree`, with its own .venv).

    python bench/inprocess.py                       # ours, the peer, the bare view
    python bench/inprocess.py --before /tmp/before  # and the pre-rewrite commit, alternating
    python bench/inprocess.py --one ours [--tree PATH]  # one, as JSON (what the table runs)
"""

import argparse
import json
import os
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
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
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


def measure(which: str, tree_path: str | None) -> dict:
    sys.path.insert(0, str(HERE))
    import common

    if which == "ours":
        tree = common.tree_at(tree_path, "other") if tree_path else common.CURRENT
        env, key = common.prepare_database(tree)
        os.environ.update(env)
        sys.path.insert(0, str(tree.root))
        from genesis.wsgi import application
    elif which == "peer":
        env, key = common.prepare_peer()
        os.environ.update(env)
        sys.path.insert(0, str(common.PEER))
        from peer_wsgi import application
    else:
        os.environ.update(common.bare_env("none" if which == "bare" else "startproject"))
        sys.path.insert(0, str(common.BARE))
        from bare_wsgi import application

        return {"health": microseconds(application, "/api/v1/health", {})}
    return {
        "health": microseconds(application, "/api/v1/health", {}),
        "me": microseconds(application, "/api/v1/me", {"X-Api-Key": key}),
    }


def run(which: str, tree=None) -> dict:
    """One measurement in a process of its own (the tree's Python for another checkout)."""
    python = str(tree.python) if tree else sys.executable
    argv = [python, __file__, "--one", which]
    if tree:
        argv += ["--tree", str(tree.root)]
    result = subprocess.run(argv, check=True, capture_output=True, text=True, cwd=HERE)  # noqa: S603
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(before: str | None = None, rounds: int = 3) -> dict:
    """Each project `rounds` times, alternating; the best of each (the least disturbed)."""
    import common

    runs = {"ours": None, "peer": None, "bare": None, "bare+mw": None}
    if before:
        runs["before"] = common.tree_at(before)
    results = {name: [] for name in runs}
    for round_number in range(rounds):
        order = list(runs) if round_number % 2 == 0 else list(runs)[::-1]
        for name in order:
            results[name].append(run("ours" if name == "before" else name, runs[name]))
    return {
        name: {path: min(run[path] for run in values) for path in values[0]}
        for name, values in results.items()
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--one", choices=["ours", "peer", "bare", "bare+mw"])
    parser.add_argument("--tree")
    parser.add_argument("--before")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.tree)))
    else:
        sys.path.insert(0, str(HERE))
        results = main(args.before, args.rounds)
        print("| in one process, µs per request (best) | /api/v1/health | /api/v1/me |")
        print("|---|---|---|")
        for name, numbers in results.items():
            me = f"{numbers['me']:.0f}" if "me" in numbers else "-"
            print(f"| {name} | {numbers['health']:.0f} | {me} |")
