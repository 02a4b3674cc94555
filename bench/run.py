"""All the benchmarks, one command:

    .venv/bin/python bench/run.py [--before /tmp/before]

Installs the benchmark-only packages (bench/requirements.txt: the peer we compare with,
a2wsgi for a serving layout) into this environment, then prints one table per part: the
HTTP targets, the serving layouts, key verification, the console, page render of key
rows, and the client address. With --before (a checkout of the pre-rewrite commit
41ac193 with its own .venv), also before and after, over HTTP and in one process. Needs
wrk (Debian: apt-get install wrk). Loopback only; every part is bounded in time (about
25 minutes in all, 35 with --before). docs/performance.md has the current figures and
each part's own command.
"""

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", help="a checkout of 41ac193 with its own .venv")
    args = parser.parse_args()
    subprocess.run(  # noqa: S603
        [sys.executable, "-m", "pip", "install", "-q", "-r", str(HERE / "requirements.txt")],
        check=True,
    )
    import common

    print(f"{common.machine()}; load average {common.load_average()}")
    parts = ["http_load", "layouts", "verify", "console", "key_rows", "client_address"]
    if args.before:
        parts += ["before_after", "inprocess"]
    # Each part in its own process: each sets Django up with its own settings.
    for part in parts:
        subprocess.run(  # noqa: S603
            [sys.executable, "-c", f"import run; run.part({part!r}, {args.before!r})"],
            cwd=HERE,
            check=True,
        )
    print(f"\nload average at the end: {common.load_average()}")


def part(name, before=None):
    module = __import__(name)
    print(f"\n## {name}\n", flush=True)
    if name == "http_load":
        print(module.table(module.main()))
    elif name == "layouts":
        summary, loads = module.main()
        print(module.table(summary))
        print(f"\nload average: {', '.join(loads)}")
    elif name == "before_after":
        rows, loads = module.main(before)
        print(module.table(rows))
        print(f"\nload average: {', '.join(loads)}")
    elif name == "inprocess":
        print(
            "| in one process, µs per request (best) | /api/v1/health | /api/v1/me |\n|---|---|---|"
        )
        for project, numbers in module.main(before).items():
            me = f"{numbers['me']:.0f}" if "me" in numbers else "-"
            print(f"| {project} | {numbers['health']:.0f} | {me} |")
    elif name == "verify":
        print("| verification | calls/s or ratio | target |\n|---|---|---|")
        for what, value, target in module.main(before):
            print(f"| {what} | {value:,.2f} | {target} |")
    elif name == "client_address":
        print("| client address, µs (best batch) | remembered | parsed |\n|---|---|---|")
        for what, fast, slow in module.main():
            print(f"| {what} | {fast:.2f} | {slow:.2f} |")
    else:
        title = {"console": "console", "key_rows": "page render of key rows"}[name]
        print(f"| {title} | value | target |\n|---|---|---|")
        for what, value, target in module.main():
            print(f"| {what} | {value:,.2f} | {target} |")


if __name__ == "__main__":
    main()
