"""The balancer's health checker (open-source nginx checks nothing by itself; it only
notices errors on requests it sends): every `interval` seconds it asks each app host's
/api/v1/ready, takes a host out of nginx's upstreams (`down`) after two answers that are
not 200 in a row, and puts it back after two 200s in a row; then nginx reloads its
configuration (SIGHUP: its old worker finishes what it has in flight). What HAProxy's
`option httpchk` or a cloud balancer's target health does; the README's "Load balancers"
step asks for it.

    python -m tests.cluster.checker <spec.json>   # run by tests.cluster.hosts.Balancer
"""

import json
import os
import signal
import sys
import time
from pathlib import Path

import httpx

FALL = RISE = 2


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    # Imported here: this module runs on its own, with the harness's modules on its path.
    from tests.cluster.hosts import nginx_config

    class Addresses:  # what nginx_config needs of the cluster: its addresses
        ip = {**spec["hosts"], "lb": spec["lb"]}

    down: set[str] = set()
    streak = {host: 0 for host in spec["hosts"]}  # answers in a row that disagree with now
    log = open(spec["log"], "a")  # noqa: SIM115
    client = httpx.Client(timeout=spec["interval"])
    while True:
        started = time.monotonic()
        for host, address in spec["hosts"].items():
            try:
                ready = (
                    client.get(f"http://{address}:{spec['port']}/api/v1/ready").status_code == 200
                )
            except httpx.HTTPError:
                ready = False
            disagrees = ready == (host in down)
            streak[host] = streak[host] + 1 if disagrees else 0
            if streak[host] >= (RISE if ready else FALL):
                streak[host] = 0
                (down.discard if ready else down.add)(host)
                Path(spec["config"]).write_text(
                    nginx_config(Addresses, Path(spec["config"]).parent, down)
                )
                os.kill(spec["nginx_pid"], signal.SIGHUP)
                event = {"at": time.time(), "host": host, "state": "up" if ready else "down"}
                log.write(json.dumps(event) + "\n")
                log.flush()
        time.sleep(max(0.0, spec["interval"] - (time.monotonic() - started)))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
