"""Shared pieces of the benchmarks: a production-like environment on a scratch SQLite
database, a demo key, the production server commands (read from docs/deploy/, one worker),
servers started as subprocesses, wrk, and medians.

A benchmark can run another checkout of the project beside this one (`Tree`): the
pre-rewrite commit for before-and-after figures, with its own virtualenv:

    git worktree add /tmp/before 41ac193
    cd /tmp/before && python3 -m venv .venv && .venv/bin/pip install -q -e ".[dev]"
"""

import json
import os
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
BIN = Path(os.path.abspath(sys.executable)).parent
PEER = BENCH / "peer"
BARE = BENCH / "bare"
WHOAMI = BENCH / "mcp_whoami.lua"
WHOAMI_BODY = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami"}}'

# The production layout's services instead of SQLite and local memory, e.g.
# BENCH_DATABASE_URL=postgres://genesis:genesis@127.0.0.1/genesis_bench (a scratch
# database: the benchmarks empty it) and BENCH_REDIS_URL=redis://127.0.0.1:6379/3.
EXTERNAL_DATABASE = os.environ.get("BENCH_DATABASE_URL")
EXTERNAL_REDIS = os.environ.get("BENCH_REDIS_URL")


@dataclass(frozen=True)
class Tree:
    """A checkout of the project and the Python of the virtualenv it runs in."""

    root: Path
    python: Path
    label: str

    @property
    def bin(self) -> Path:
        return self.python.parent


CURRENT = Tree(ROOT, Path(os.path.abspath(sys.executable)), "after")


def tree_at(path: str, label: str = "before") -> Tree:
    """Another checkout, with its own virtualenv in .venv."""
    root = Path(path).resolve()
    python = root / ".venv" / "bin" / "python"
    if not python.exists():
        raise SystemExit(f"{root}: no .venv (python3 -m venv .venv && pip install -e .)")
    return Tree(root, python, label)


def database_url(tree: Tree, db_path: str) -> str:
    """SQLite at db_path, or BENCH_DATABASE_URL; the pre-rewrite checkout, whose
    migrations differ, gets a scratch database of its own (BENCH_BEFORE_DATABASE_URL)."""
    if EXTERNAL_DATABASE and tree.label == "before":
        if not os.environ.get("BENCH_BEFORE_DATABASE_URL"):
            raise SystemExit("With BENCH_DATABASE_URL, set BENCH_BEFORE_DATABASE_URL too.")
        return os.environ["BENCH_BEFORE_DATABASE_URL"]
    return EXTERNAL_DATABASE or f"sqlite:///{db_path}"


def bench_env(db_path: str, tree: Tree = CURRENT) -> dict:
    """Production settings (DEBUG off) on loopback, plain http, a scratch database."""
    env = dict(os.environ)
    env.update(
        DEBUG="0",
        SECRET_KEY="bench-only-secret-key-0123456789-abcdefghijklmnop",  # noqa: S106
        APIKEY_PEPPERS="b1:bench-only-pepper-0123456789",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url(tree, db_path),
        LOG_LEVEL="ERROR",
        SECURE_SSL_REDIRECT="0",  # plain http on loopback
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        DRAIN_SECONDS="0",
        PYTHONPATH=str(tree.root),
    )
    env.pop("REDIS_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    if EXTERNAL_REDIS:
        env["REDIS_URL"] = EXTERNAL_REDIS
    return env


def setup_django_in_process(
    name: str, settings_module: str = "genesis.settings", tree: Tree = CURRENT
) -> None:
    """Django in this process, production-like, on a fresh scratch database."""
    import django
    from django.core.management import call_command

    db = os.path.join(tempfile.mkdtemp(prefix=f"genesis-{name}-"), f"{name}.sqlite3")
    os.environ.update(bench_env(db, tree), DJANGO_SETTINGS_MODULE=settings_module)
    sys.path.insert(0, str(tree.root))
    django.setup()
    call_command("migrate", verbosity=0)
    if EXTERNAL_DATABASE:
        call_command("flush", interactive=False, verbosity=0)


MAKE_KEY = (
    "from organizations.models import User; from organizations import services as o; "
    "from apikeys import services as k; "
    "u = User.objects.create_user('bench@example.com', 'x', name='Bench'); "
    "org = o.create_organization('Bench', 'bench', u); "
    "print(k.create_key(u, org, 'bench')[1])"
)


def prepare_database(tree: Tree = CURRENT) -> tuple[dict, str]:
    """A fresh database with one member and one key (default scopes: the API's and the
    MCP server's reads); returns the environment and the key."""
    db_path = os.path.join(tempfile.mkdtemp(prefix=f"genesis-bench-{tree.label}-"), "db.sqlite3")
    env = bench_env(db_path, tree)
    manage = [str(tree.python), str(tree.root / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=tree.root)  # noqa: S603
    if EXTERNAL_DATABASE:
        subprocess.run([*manage, "flush", "--noinput"], env=env, check=True, cwd=tree.root)  # noqa: S603
    subprocess.run(  # noqa: S603
        [*manage, "collectstatic", "--noinput", "-v0"], env=env, check=True, cwd=tree.root
    )
    return env, last_line([*manage, "shell", "-c", MAKE_KEY], env, tree.root)


def prepare_peer() -> tuple[dict, str]:
    """The peer's own fresh database with one key; returns its environment and the key."""
    database = Path(tempfile.mkdtemp(prefix="genesis-peer-")) / "peer.sqlite3"
    env = {**os.environ, "PEER_DB": str(database)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env, last_line([sys.executable, "prepare.py"], env, PEER)


def bare_env(middleware: str) -> dict:
    """The bare project (bench/bare) with MIDDLEWARE empty ("none") or startproject's."""
    env = {**os.environ, "BARE_MIDDLEWARE": middleware}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


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


# The production server commands, as docs/deploy/ ships them (before the split, one unit).
WEB_UNIT = "genesis-web.service"
MCP_UNIT = "genesis-mcp.service"
BEFORE_UNIT = "genesis.service"


def production_command(tree: Tree, unit: str) -> list[str]:
    """The ExecStart of a systemd unit in the tree's docs/deploy/, as argv."""
    text = (tree.root / "docs" / "deploy" / unit).read_text()
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("ExecStart="))
    command = lines[start].removeprefix("ExecStart=")
    while command.endswith("\\"):
        start += 1
        command = command[:-1] + " " + lines[start].strip()
    return shlex.split(command)


def command(
    tree: Tree, unit: str, port: int, *, app: str | None = None, cwd: Path | None = None
) -> tuple[list[str], Path]:
    """A unit's production command with one worker on `port`, run from the tree's virtualenv;
    `app` and `cwd` serve another project (the peer, the bare view) with the same flags."""
    argv = production_command(tree, unit)
    argv[0] = str(tree.bin / Path(argv[0]).name)
    argv[argv.index("--port") + 1] = str(port)
    argv[argv.index("--workers") + 1] = "1"
    cwd = cwd or tree.root
    if app:
        argv[-1] = app
    argv[-1:-1] = ["--working-dir", str(cwd)]
    return argv, cwd


class Server:
    """A server command in a process group of its own, from start to its first answer at
    /api/v1/health (every project here answers it), stopped with SIGTERM."""

    def __init__(self, argv: list[str], env: dict, cwd: Path, port: int):
        self.argv, self.env, self.cwd, self.port = argv, env, cwd, port
        self.url = f"http://127.0.0.1:{port}"

    @classmethod
    def of(cls, tree, unit, env, *, app=None, cwd=None) -> "Server":
        port = free_port()
        argv, cwd = command(tree, unit, port, app=app, cwd=cwd)
        return cls(argv, env, cwd, port)

    def __enter__(self):
        started = time.perf_counter()
        self.process = subprocess.Popen(  # noqa: S603
            self.argv,
            env=self.env,
            cwd=self.cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = started + 60
        while time.perf_counter() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/health", timeout=1):  # noqa: S310
                    self.cold_start = time.perf_counter() - started
                    return self
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.02)
        self.__exit__()
        raise RuntimeError(f"server did not start: {shlex.join(self.argv)}")

    def memory_mib(self) -> float:
        """Resident memory of the server's processes (granian's main and its worker)."""
        pids = subprocess.run(  # noqa: S603
            ["/usr/bin/pgrep", "-g", str(self.process.pid)], capture_output=True, text=True
        ).stdout.split()
        total = 0
        for pid in pids:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            total += int(re.search(r"^VmRSS:\s+(\d+)", status, re.M).group(1))
        return total / 1024

    def __exit__(self, *exc):
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


def wrk_run(
    url: str,
    seconds: int = 3,
    connections: int = 8,
    header: str | None = None,
    script: Path | None = None,
    threads: int = 2,
) -> tuple[int, float]:
    """Requests served and requests per second from wrk, bounded in time, on loopback
    only. Any non-2xx answer under load is an error: nothing would be measured."""
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", url]
    if header:
        argv[1:1] = ["-H", header]
    if script:
        argv[1:1] = ["-s", str(script)]
    output = subprocess.run(  # noqa: S603
        argv, check=True, capture_output=True, text=True, timeout=seconds + 30
    ).stdout
    if re.search(r"Non-2xx or 3xx responses: \d+", output):
        raise RuntimeError(f"errors under load:\n{output}")
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    return requests, float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))


def rate(url: str, seconds: int = 3, key: str | None = None) -> float:
    """Requests per second of a GET (with the key in X-Api-Key when given)."""
    return wrk_run(url, seconds, header=f"x-api-key: {key}" if key else None)[1]


def mcp_rate(url: str, key: str, seconds: int = 3) -> float:
    """MCP tools/call whoami, one stateless JSON-RPC POST per request (mcp_whoami.lua)."""
    return wrk_run(f"{url}/mcp", seconds, header=f"Authorization: Bearer {key}", script=WHOAMI)[1]


def mcp_whoami(url: str, key: str) -> dict:
    """One tools/call whoami, checked: the load would otherwise measure refusals."""
    body = WHOAMI_BODY
    request = urllib.request.Request(  # noqa: S310 (loopback)
        f"{url}/mcp",
        data=body,
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        answer = json.loads(response.read())
    result = answer.get("result") or {}
    if result.get("isError") or "key_name" not in json.dumps(result):
        raise RuntimeError(f"MCP whoami did not answer the key: {answer}")
    return answer


def check_me(url: str, key: str) -> None:
    """One /api/v1/me, checked to be the key's."""
    request = urllib.request.Request(f"{url}/api/v1/me", headers={"X-Api-Key": key})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        if response.status != 200:
            raise RuntimeError(f"/api/v1/me answered {response.status}")


def median(values) -> float:
    return statistics.median(values)


def spread(values) -> str:
    """A median and its range: `1.62 (1.48-1.80)`."""
    return f"{median(values):,.2f} ({min(values):,.2f}-{max(values):,.2f})"


def ratios(numerators, denominators) -> list[float]:
    return [n / d for n, d in zip(numerators, denominators, strict=True)]


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages: how busy the shared machine was."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def machine() -> str:
    import platform

    cpus = os.cpu_count()
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return (
        f"{cpus} vCPU ({model}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )
