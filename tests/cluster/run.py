"""Builds the cluster, runs every scenario under load, prints one line each and the
tally, and tears everything down, also when interrupted (SIGINT, SIGTERM), and sweeps
up after a run that was killed before it could (tests.cluster.net.sweep)."""

import fcntl
import os
import secrets
import shutil
import signal
import tempfile
import time
import traceback
from pathlib import Path

from tests.cluster import net
from tests.cluster.hosts import Cluster
from tests.servers import ROOT

LOCK = Path("/run/genesis-cluster.lock")
TEMP_PREFIX = "genesis-cluster-"


class Interrupted(BaseException):  # as KeyboardInterrupt: no `except Exception` stops it
    pass


def _interrupted(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


def sweep_leftovers() -> None:
    """What a killed run left: our namespaces with whatever runs in them, our folders."""
    net.sweep()
    for leftover in Path(tempfile.gettempdir()).glob(TEMP_PREFIX + "*"):
        shutil.rmtree(leftover, ignore_errors=True)


def build(directory: Path) -> Cluster:
    cluster = Cluster(directory)
    cluster.secret_key = secrets.token_urlsafe(50)
    cluster.peppers = f"c1:{secrets.token_urlsafe(32)}"
    cluster.start_postgresql()
    cluster.start_pgbouncer()
    cluster.start_redis()
    cluster.manage("app1", ROOT, "migrate", "--noinput", "-v0")
    cluster.manage("app1", ROOT, "collectstatic", "--noinput", "-v0")
    keys = directory / "keys.json"
    cluster.manage(
        "app1", ROOT, "shell", "-c", f"from tests.cluster.seed import main; main({str(keys)!r})"
    )
    cluster.keys_file = keys
    cluster.start_apps(ROOT)
    cluster.start_balancer()
    return cluster


def main() -> int:
    if os.geteuid() != 0:
        print("FAIL cluster: needs root (network namespaces)")
        return 2
    lock = open(LOCK, "w")  # noqa: SIM115 (held for the whole run)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("FAIL cluster: another run holds " + str(LOCK))
        return 2
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupted)
    sweep_leftovers()
    directory = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
    cluster = None
    results: list[tuple[str, str | None]] = []
    from tests.cluster.scenarios import SCENARIOS

    try:
        started = time.monotonic()
        cluster = build(directory)
        print(f"cluster up in {time.monotonic() - started:.0f} s", flush=True)
        for scenario in SCENARIOS:
            try:
                problem = scenario.run(cluster)
            except Interrupted:
                raise
            except Exception as error:  # a scenario that breaks is one that fails
                problem = f"{type(error).__name__}: {error}"
                if os.environ.get("CLUSTER_TRACEBACKS"):
                    traceback.print_exc()
            results.append((scenario.name, problem))
            print(
                f"ok {scenario.name}" if problem is None else f"FAIL {scenario.name}: {problem}",
                flush=True,
            )
    except Interrupted as why:
        print(f"FAIL cluster: interrupted by {why}", flush=True)
        results.append(("interrupted", str(why)))
    except Exception as error:
        print(f"FAIL cluster: could not be built: {type(error).__name__}: {error}", flush=True)
        results.append(("build", str(error)))
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if cluster is not None:
            cluster.stop_all()
        net.sweep()
        if os.environ.get("CLUSTER_KEEP"):
            print(f"logs kept in {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)
    held = sum(problem is None for _, problem in results)
    print(f"cluster: {held}/{len(SCENARIOS)} hold")
    return 0 if held == len(SCENARIOS) and len(results) == len(SCENARIOS) else 1
