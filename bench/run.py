"""All the benchmarks, one command:

    .venv/bin/python bench/run.py

Installs the benchmark-only packages (bench/requirements.txt: the peer we compare with)
into this environment, then prints one table per part. Needs wrk (Debian: apt-get install
wrk). Run it on an otherwise idle machine; docs/performance.md has the last results.
"""

import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def table(title, rows):
    print(f"\n| {title} | value | target |\n|---|---|---|")
    for name, value, target in rows:
        print(f"| {name} | {value:,.2f} | {target} |")


def main():
    subprocess.run(  # noqa: S603
        [sys.executable, "-m", "pip", "install", "-q", "-r", str(HERE / "requirements.txt")],
        check=True,
    )
    print(f"Python {platform.python_version()} on {platform.machine()}, {platform.platform()}")
    # Each part in its own process: each sets Django up with its own settings.
    for part in ("verify", "key_check_paths", "console", "key_rows", "http_load", "servers"):
        subprocess.run(  # noqa: S603
            [sys.executable, "-c", f"import run; run.part({part!r})"], cwd=HERE, check=True
        )


def part(name):
    module = __import__(name)
    if name == "servers":  # a table of its own: the candidates for the production server
        print("\n" + module.table(module.run()))
        return
    if name == "key_check_paths":  # each shortcut beside the same work without it
        print("\n| in one process, µs (best batch) | shortcut | without |\n|---|---|---|")
        for what, fast, slow in module.main():
            print(f"| {what} | {fast:.1f} | {slow:.1f} |")
        return
    titles = {
        "verify": "key verification",
        "console": "console",
        "key_rows": "page render of key rows",
        "http_load": "HTTP",
    }
    table(titles[name], module.main())


if __name__ == "__main__":
    main()
