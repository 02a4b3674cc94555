"""Drain this server before it stops, without starting Django (which took seconds on a
busy machine, and a stop waited for it): /api/v1/ready answers 503 from now on, and this
waits DRAIN_SECONDS so that load balancers polling it stop sending first.

    python -m genesis.drain          # the systemd unit's ExecStop
    python -m genesis.drain --undo   # its ExecStartPre: serve again

It reads DRAIN_FILE and DRAIN_SECONDS from the environment, as the settings do
(genesis.settings); `manage.py drain` is the same, for people.
"""

import os
import sys
import time
from pathlib import Path


def drain_seconds() -> float:
    debug = os.environ.get("DEBUG", "").strip().lower() in ("1", "true", "yes", "on")
    return float(os.environ.get("DRAIN_SECONDS", "0" if debug else "10"))


def main(argv: list[str]) -> int:
    drain_file = os.environ.get("DRAIN_FILE", "")
    if not drain_file:
        print("Set DRAIN_FILE (e.g. /run/genesis-web/draining) to drain.", file=sys.stderr)
        return 2
    marker = Path(drain_file)
    if "--undo" in argv:
        marker.unlink(missing_ok=True)
        return 0
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    seconds = drain_seconds()
    print(f"Draining: /api/v1/ready answers 503; stopping in {seconds:g} s.", flush=True)
    time.sleep(seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
