"""Shared pieces of the benchmarks: a production-like environment on a scratch SQLite
database, a demo key, servers started as subprocesses, and wrk."""

import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PEER = Path(__file__).resolve().parent / "peer"


# The production layout's services instead of SQLite and local memory, e.g.
# BENCH_DATABASE_URL=postgres://genesis:genesis@127.0.0.1/genesis_bench (a scratch
# database: the benchmarks empty it) and BENCH_REDIS_URL=redis://127.0.0.1:6379/3.
EXTERNAL_DATABASE = os.environ.get("BENCH_DATABASE_URL")
EXTERNAL_REDIS = os.environ.get("BENCH_REDIS_URL")


def bench_env(db_path: str) -> dict:
    env = dict(os.environ)
    env.update(
        DEBUG="0",
        SECRET_KEY="bench-only-secret-key-0123456789-abcdefghijklmnop",  # noqa: S106  # noqa: S106
        APIKEY_PEPPERS="b1:bench-only-pepper-0123456789",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=EXTERNAL_DATABASE or f"sqlite:///{db_path}",
        LOG_LEVEL="ERROR",
        SECURE_SSL_REDIRECT="0",  # plain http on loopback
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        PYTHONPATH=str(ROOT),
    )
    env.pop("REDIS_URL", None)
    if EXTERNAL_REDIS:
        env["REDIS_URL"] = EXTERNAL_REDIS
    return env


def setup_django_in_process(name: str, settings_module: str = "genesis.settings") -> None:
    """Django in this process, production-like, on a fresh scratch database."""
    import django
    from django.core.management import call_command

    db = os.path.join(tempfile.mkdtemp(prefix=f"genesis-{name}-"), f"{name}.sqlite3")
    os.environ.update(bench_env(db), DJANGO_SETTINGS_MODULE=settings_module)
    sys.path.insert(0, str(ROOT))
    django.setup()
    call_command("migrate", verbosity=0)
    if EXTERNAL_DATABASE:
        call_command("flush", interactive=False, verbosity=0)


def prepare_database() -> tuple[dict, str]:
    """A fresh database with one member and one key; returns the environment and the key."""
    db_path = os.path.join(tempfile.mkdtemp(prefix="genesis-bench-"), "bench.sqlite3")
    env = bench_env(db_path)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=ROOT)  # noqa: S603
    if EXTERNAL_DATABASE:
        subprocess.run([*manage, "flush", "--noinput"], env=env, check=True, cwd=ROOT)  # noqa: S603
    subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], env=env, check=True, cwd=ROOT)  # noqa: S603
    script = (
        "from organizations.models import User, Role; from organizations import services as o; "
        "from apikeys import services as k; "
        "u = User.objects.create_user('bench@example.com', 'x', name='Bench'); "
        "org = o.create_organization('Bench', 'bench', u); "
        "print(k.create_key(u, org, 'bench')[1])"
    )
    return env, last_line([*manage, "shell", "-c", script], env, ROOT)


def prepare_peer() -> tuple[dict, str]:
    """The peer's own fresh database with one key; returns its environment and the key."""
    database = Path(tempfile.mkdtemp(prefix="genesis-peer-")) / "peer.sqlite3"
    env = {**os.environ, "PEER_DB": str(database)}
    return env, last_line([sys.executable, "prepare.py"], env, PEER)


def last_line(argv: list[str], env: dict, cwd: Path) -> str:
    """Run a setup script and return the last line it prints (the key it made)."""
    result = subprocess.run(  # noqa: S603
        argv, env=env, check=True, cwd=cwd, capture_output=True, text=True
    )
    return result.stdout.strip().splitlines()[-1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A server command run as a subprocess until it answers /api/v1/health."""

    def __init__(self, argv: list[str], env: dict, port: int):
        self.argv, self.env, self.port = argv, env, port
        self.url = f"http://127.0.0.1:{port}"

    def __enter__(self):
        self.process = subprocess.Popen(  # noqa: S603
            self.argv, env=self.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/health", timeout=1):  # noqa: S310
                    return self
            except OSError:
                time.sleep(0.1)
        self.process.kill()
        raise RuntimeError(f"server did not start: {self.argv}")

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def wrk_run(
    url: str, seconds: int = 5, connections: int = 8, header: str | None = None
) -> tuple[int, float]:
    """Requests served and requests per second from wrk (2 threads), bounded in time;
    loopback only. Any non-2xx answer under load is an error."""
    argv = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if header:
        argv[1:1] = ["-H", header]
    output = subprocess.run(argv, check=True, capture_output=True, text=True).stdout  # noqa: S603
    if re.search(r"Non-2xx or 3xx responses: \d+", output):
        raise RuntimeError(f"errors under load:\n{output}")
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    return requests, float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))


def wrk(url: str, seconds: int = 5, connections: int = 8, header: str | None = None) -> float:
    """Requests per second from wrk_run."""
    return wrk_run(url, seconds, connections, header)[1]


def median(values) -> float:
    return statistics.median(values)
