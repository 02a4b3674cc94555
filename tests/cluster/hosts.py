"""The cluster's hosts and what runs on them, each process inside its host's network
namespace: PostgreSQL (a fresh cluster of its own), PgBouncer, Redis, two app hosts with
the production servers (the systemd units' commands, docs/deploy/), and the balancer
(Debian's nginx with the shipped site, and a readiness checker).
"""

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.cluster.net import Network, in_ns
from tests.servers import DEPLOY, ROOT, VENV_BIN, unit_command

PG_BIN = Path("/usr/lib/postgresql/15/bin")
# PgBouncer 1.21+ (max_prepared_statements), as .ci/pgbouncer builds it; else the PATH's.
PGBOUNCER = os.environ.get("GENESIS_PGBOUNCER") or next(
    (str(p) for p in sorted(Path("/opt").glob("pgbouncer-*/bin/pgbouncer"))),
    shutil.which("pgbouncer") or "/usr/sbin/pgbouncer",
)
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"
RUNUSER = shutil.which("runuser") or "/usr/sbin/runuser"  # PostgreSQL and PgBouncer refuse root

# Where each host is on the bridge (net.SUBNET.<octet>); the clients have several
# addresses: the failed-key limit counts per client address.
OCTETS = {
    "lb": (2,),
    "app1": (11,),
    "app2": (12,),
    "pg": (21,),
    "redis": (22,),
    "pgbouncer": (23,),
    "clients": (31, 32, 33, 34, 35, 36, 37, 38, 39),
}
PG_PORT, PGBOUNCER_PORT, REDIS_PORT, WEB_PORT, MCP_PORT = 5432, 6432, 6379, 8000, 8001
# Fewer workers than the units' 4 and 2 (two app hosts share this machine's cores); every
# other flag is the units'.
WEB_WORKERS, MCP_WORKERS = 2, 1
# How long a stopping app host answers 503 at /ready before it stops (DRAIN_SECONDS), and
# how often the balancer's checker asks (below it, as the README says).
DRAIN_SECONDS = 3
CHECK_INTERVAL = 0.5


class Process:
    """A command inside a namespace, in a process group of its own, logging to a file."""

    def __init__(self, namespace: str, command: list[str], log: Path, **popen):
        self.log_path = log
        self.log = open(log, "ab")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(  # noqa: S603 (our own command lines)
            in_ns(namespace, *command),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **popen,
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, signum: int) -> None:
        if self.alive():
            os.killpg(self.process.pid, signum)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 20) -> None:
        self.send(signum)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.send(signal.SIGKILL)
            self.process.wait(timeout=5)
        self.log.close()

    def tail(self, lines: int = 15) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def wait_for(what: str, condition, timeout: float = 30, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:g} s")
        time.sleep(interval)


def run_in(namespace: str, command: list[str], timeout: float = 120, **kwargs) -> str:
    done = subprocess.run(  # noqa: S603
        in_ns(namespace, *command), capture_output=True, text=True, timeout=timeout, **kwargs
    )
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


class Cluster:
    """Builds every host in `directory` (a temporary folder) and knows how to reach them."""

    def __init__(self, directory: Path):
        self.dir = directory
        self.dir.chmod(0o755)  # PostgreSQL and nginx's workers run as other users
        self.net = Network()
        self.ns = {name: self.net.add(name, *octets) for name, octets in OCTETS.items()}
        self.ip = dict(self.net.hosts)
        self.clients = [f"{self.ip['clients'].rpartition('.')[0]}.{o}" for o in OCTETS["clients"]]
        self.password = secrets.token_urlsafe(16)
        self.processes: list[Process] = []
        self.app: dict[str, AppHost] = {}

    def start(self, name: str, command: list[str], log: str, **popen) -> Process:
        process = Process(self.ns[name], command, self.dir / log, **popen)
        self.processes.append(process)
        return process

    def tcp_open(self, from_host: str, address: str, port: int) -> bool:
        """Whether `from_host` connects to address:port (bash's /dev/tcp: polled often, and
        a Python started for each probe cost this machine's cores more than the servers)."""
        probe = f"exec 3<>/dev/tcp/{address}/{port}"
        done = subprocess.run(  # noqa: S603
            in_ns(self.ns[from_host], "timeout", "1", "bash", "-c", probe), capture_output=True
        )
        return done.returncode == 0

    # PostgreSQL: a fresh cluster in our folder, as the postgres user.
    def start_postgresql(self) -> None:
        data = self.dir / "pgdata"
        socket_dir = self.dir / "pgsocket"
        for folder in (data, socket_dir):
            folder.mkdir(mode=0o700)
            shutil.chown(folder, "postgres")
        pwfile = self.dir / "pgpass"
        pwfile.write_text(self.password)
        shutil.chown(pwfile, "postgres")
        subprocess.run(  # noqa: S603
            [RUNUSER, "-u", "postgres", "--", str(PG_BIN / "initdb"), "-D", str(data),
             "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8", "--auth-local=trust",
             "--auth-host=scram-sha-256", f"--pwfile={pwfile}"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        with open(data / "pg_hba.conf", "a") as hba:
            hba.write(f"host all all {self.ip['pg'].rpartition('.')[0]}.0/24 scram-sha-256\n")
        self.pg_command = [
            RUNUSER, "-u", "postgres", "--", str(PG_BIN / "postgres"), "-D", str(data),
            "-c", f"listen_addresses={self.ip['pg']}", "-c", f"port={PG_PORT}",
            "-c", f"unix_socket_directories={socket_dir}", "-c", "timezone=UTC",
            "-c", "fsync=off", "-c", "max_connections=100",
        ]  # fmt: skip
        self.postgresql = self.start("pg", self.pg_command, "postgresql.log")
        self.wait_postgresql()
        psql = [RUNUSER, "-u", "postgres", "--", str(PG_BIN / "psql"),
                "-h", str(socket_dir), "-p", str(PG_PORT), "-U", "postgres", "-qc"]  # fmt: skip
        run_in(self.ns["pg"], [*psql, f"CREATE ROLE genesis LOGIN PASSWORD '{self.password}'"])
        run_in(self.ns["pg"], [*psql, "CREATE DATABASE genesis OWNER genesis"])

    def wait_postgresql(self) -> None:
        wait_for(
            "PostgreSQL accepts connections",
            lambda: (
                self.tcp_open("pgbouncer", self.ip["pg"], PG_PORT)
                or (not self.postgresql.alive() and _died(self.postgresql))
            ),
        )

    def restart_postgresql(self) -> None:
        """A fast shutdown (SIGINT: open sessions are ended), then the same cluster again."""
        self.postgresql.stop(signal.SIGINT)
        self.processes.remove(self.postgresql)
        self.postgresql = self.start("pg", self.pg_command, "postgresql.log")
        self.wait_postgresql()

    # PgBouncer: transaction pooling in front of PostgreSQL, as the postgres user.
    def start_pgbouncer(self) -> None:
        config = self.dir / "pgbouncer.ini"
        users = self.dir / "pgbouncer-users.txt"
        users.write_text(f'"genesis" "{self.password}"\n')
        prepared = "max_prepared_statements = 200\n" if pgbouncer_version() >= (1, 21) else ""
        config.write_text(
            f"""[databases]
genesis = host={self.ip["pg"]} port={PG_PORT} dbname=genesis
[pgbouncer]
listen_addr = {self.ip["pgbouncer"]}
listen_port = {PGBOUNCER_PORT}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {users}
pool_mode = transaction
{prepared}default_pool_size = 20
max_client_conn = 200
server_connect_timeout = 3
server_login_retry = 1
ignore_startup_parameters = extra_float_digits,options
logfile =
pidfile =
"""
        )
        for path in (config, users):
            shutil.chown(path, "postgres")
            path.chmod(0o600)
        self.pgbouncer_command = [RUNUSER, "-u", "postgres", "--", PGBOUNCER, str(config)]
        self.pgbouncer = self.start("pgbouncer", self.pgbouncer_command, "pgbouncer.log")
        self.wait_pgbouncer()

    def wait_pgbouncer(self) -> None:
        wait_for(
            "PgBouncer accepts connections",
            lambda: (
                self.tcp_open("app1", self.ip["pgbouncer"], PGBOUNCER_PORT)
                or (not self.pgbouncer.alive() and _died(self.pgbouncer))
            ),
        )

    def restart_pgbouncer(self) -> None:
        self.pgbouncer.stop(signal.SIGINT)  # SIGINT: PgBouncer's immediate shutdown
        self.processes.remove(self.pgbouncer)
        self.pgbouncer = self.start("pgbouncer", self.pgbouncer_command, "pgbouncer.log")
        self.wait_pgbouncer()

    def start_redis(self) -> None:
        self.redis = self.start(
            "redis",
            [REDIS, "--bind", self.ip["redis"], "--port", str(REDIS_PORT), "--save", "",
             "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no"],
            "redis.log",
        )  # fmt: skip
        wait_for("Redis answers", lambda: self.tcp_open("app1", self.ip["redis"], REDIS_PORT))

    def direct_database_url(self) -> str:
        return f"postgres://genesis:{self.password}@{self.ip['pg']}:{PG_PORT}/genesis"

    def pooled_database_url(self) -> str:
        return f"postgres://genesis:{self.password}@{self.ip['pgbouncer']}:{PGBOUNCER_PORT}/genesis"

    def app_env(self, name: str, release: Path, **extra) -> dict[str, str]:
        """A production environment file's settings (README, step 3) for app host `name`,
        behind the balancer, on plain http inside the cluster."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "PYTHONPATH": str(release),
            "DEBUG": "0",
            "SECRET_KEY": self.secret_key,
            "APIKEY_PEPPERS": self.peppers,
            "ALLOWED_HOSTS": self.ip["lb"] + "," + ",".join(self.ip[a] for a in ("app1", "app2")),
            "PUBLIC_URL": f"http://{self.ip['lb']}",
            "DATABASE_URL": self.pooled_database_url(),
            # PgBouncer in transaction mode (genesis/settings.py); prepared statements only
            # where it carries them (1.21+, max_prepared_statements set).
            "DATABASE_POOLING": "transaction",
            "DATABASE_PREPARED_STATEMENTS": "1" if pgbouncer_version() >= (1, 21) else "0",
            "REDIS_URL": f"redis://{self.ip['redis']}:{REDIS_PORT}/0",
            "TRUSTED_PROXIES": self.ip["lb"],
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_COOKIES": "0",
            "LOG_LEVEL": "WARNING",
            "DRAIN_SECONDS": str(DRAIN_SECONDS),
        }
        env.update(extra)
        return env

    def manage(self, host: str, release: Path, *args: str, direct: bool = True) -> str:
        """`manage.py` of `release` on app host `host`; on PostgreSQL itself (`direct`), as an
        operator runs migrations, or through PgBouncer as the servers are."""
        env = self.app_env(host, release)
        if direct:
            env["DATABASE_URL"] = self.direct_database_url()
        return run_in(
            self.ns[host], [sys.executable, "manage.py", *args], cwd=release, env=env, timeout=180
        )

    def start_apps(self, release: Path) -> None:
        """Both app hosts, started together (each server takes seconds to import Django)."""
        for name in ("app1", "app2"):
            self.app[name] = AppHost(self, name, release)
            self.app[name].start(wait=False)
        for host in self.app.values():
            host.wait_up()

    def start_balancer(self) -> None:
        self.balancer = Balancer(self)
        self.balancer.start()

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            process.stop(signal.SIGKILL, timeout=5)
        self.processes.clear()


def _died(process: Process) -> bool:
    raise RuntimeError(f"exited {process.process.returncode}:\n{process.tail()}")


def pgbouncer_version() -> tuple[int, ...]:
    out = subprocess.run([PGBOUNCER, "--version"], capture_output=True, text=True).stdout  # noqa: S603
    return tuple(int(part) for part in re.search(r"(\d+)\.(\d+)", out).groups())


def server_command(unit: str, workers: int, address: str, port: int) -> list[str]:
    """The systemd unit's ExecStart (docs/deploy/), this virtual environment's granian, on
    the host's own address."""
    command = unit_command(unit, workers)
    command[command.index("--host") + 1] = address
    command[command.index("--port") + 1] = str(port)
    return command


class AppHost:
    """genesis-web and genesis-mcp as their units run them: ExecStartPre (undo a drain),
    ExecStart, and to stop, ExecStop (drain) then SIGTERM."""

    def __init__(self, cluster: Cluster, name: str, release: Path):
        self.cluster, self.name, self.release = cluster, name, release
        self.address = cluster.ip[name]
        self.url = f"http://{self.address}:{WEB_PORT}"
        self.mcp_url = f"http://{self.address}:{MCP_PORT}"
        (cluster.dir / name / "metrics").mkdir(parents=True, exist_ok=True)
        self.web = self.mcp = None

    def env(self) -> dict[str, str]:
        """The environment file's, and what the units add (docs/deploy/genesis-web.service)."""
        folder = self.cluster.dir / self.name
        return self.cluster.app_env(
            self.name,
            self.release,
            DRAIN_FILE=str(folder / "draining"),
            PROMETHEUS_MULTIPROC_DIR=str(folder / "metrics"),
        )

    def start(self, wait: bool = True) -> None:
        ns = self.cluster.ns[self.name]
        metrics = self.cluster.dir / self.name / "metrics"
        for stale in metrics.iterdir():  # genesis-metrics.service empties it on start
            stale.unlink()
        drain_undo = [str(VENV_BIN / "python"), "-m", "genesis.drain", "--undo"]
        run_in(ns, drain_undo, cwd=self.release, env=self.env())
        popen = {"cwd": self.release, "env": self.env()}
        web = server_command("genesis-web.service", WEB_WORKERS, self.address, WEB_PORT)
        mcp = server_command("genesis-mcp.service", MCP_WORKERS, self.address, MCP_PORT)
        self.web = self.cluster.start(self.name, web, f"{self.name}-web.log", **popen)
        self.mcp = self.cluster.start(self.name, mcp, f"{self.name}-mcp.log", **popen)
        if wait:
            self.wait_up()

    def wait_up(self) -> None:
        for process, port in ((self.web, WEB_PORT), (self.mcp, MCP_PORT)):
            wait_for(
                f"{self.name}:{port} answers",
                lambda p=process, port=port: (
                    self.cluster.tcp_open("lb", self.address, port) or (not p.alive() and _died(p))
                ),
                timeout=60,
            )

    def stop(self) -> None:
        """systemctl stop: ExecStop (drain: /ready 503 for DRAIN_SECONDS), then SIGTERM,
        and granian finishes the requests in flight."""
        drain = [str(VENV_BIN / "python"), "-m", "genesis.drain"]
        run_in(self.cluster.ns[self.name], drain, cwd=self.release, env=self.env())
        for process in (self.web, self.mcp):
            process.stop(signal.SIGTERM, timeout=60)
            self.cluster.processes.remove(process)

    def kill(self) -> None:
        for process in (self.web, self.mcp):
            process.stop(signal.SIGKILL)
            self.cluster.processes.remove(process)


class Balancer:
    """Debian's nginx with the shipped site (docs/deploy/genesis.conf's upstreams and map,
    genesis-proxy.conf as it is), its upstreams on the two app hosts, and the checker that
    takes a host out while its /api/v1/ready doesn't answer 200 (tests.cluster.checker)."""

    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.dir = cluster.dir / "nginx"
        self.dir.mkdir()
        self.dir.chmod(0o777)
        self.config = self.dir / "nginx.conf"
        self.access_log = self.dir / "access.log"
        self.checks_log = cluster.dir / "checks.jsonl"
        self.url = f"http://{cluster.ip['lb']}"

    def write_config(self, down: set[str]) -> None:
        self.config.write_text(nginx_config(self.cluster, self.dir, down))

    def start(self) -> None:
        self.write_config(set())
        self.nginx = self.cluster.start("lb", [NGINX, "-c", str(self.config)], "nginx.log")
        wait_for(
            "nginx answers", lambda: self.cluster.tcp_open("clients", self.cluster.ip["lb"], 80)
        )
        spec = {
            "hosts": {name: self.cluster.ip[name] for name in ("app1", "app2")},
            "lb": self.cluster.ip["lb"],
            "port": WEB_PORT,
            "interval": CHECK_INTERVAL,
            "log": str(self.checks_log),
            "nginx_pid": self.nginx.process.pid,
            "config": str(self.config),
            "cluster_dir": str(self.cluster.dir),
        }
        (self.cluster.dir / "checker.json").write_text(json.dumps(spec))
        self.checker = self.cluster.start(
            "lb",
            [sys.executable, "-m", "tests.cluster.checker", str(self.cluster.dir / "checker.json")],
            "checker.log",
            cwd=ROOT,
        )

    def transitions(self) -> list[dict]:
        if not self.checks_log.exists():
            return []
        return [json.loads(line) for line in self.checks_log.read_text().splitlines() if line]

    def state(self) -> dict[str, str]:
        current = {"app1": "up", "app2": "up"}
        for event in self.transitions():
            current[event["host"]] = event["state"]
        return current

    def served(self, since: float, until: float) -> dict[str, int]:
        """How many requests nginx began to send each app host between two wall-clock
        times (nginx logs a request when it ends, with how long it took)."""
        counts: dict[str, int] = {}
        by_address = {
            f"{self.cluster.ip[h]}:{p}": h for h in ("app1", "app2") for p in (WEB_PORT, MCP_PORT)
        }
        for line in self.access_log.read_text().splitlines():
            ended, took, upstreams = line.split(" ", 2)
            if since <= float(ended) - float(took) <= until:
                for upstream in upstreams.split(", "):
                    host = by_address.get(upstream.strip())
                    if host:
                        counts[host] = counts.get(host, 0) + 1
        return counts


def nginx_config(cluster: Cluster, directory: Path, down: set[str]) -> str:
    """nginx.conf for the balancer: the shipped site's upstreams with the two app hosts in
    place of loopback (those marked `down` as such), its map, and genesis-proxy.conf as
    it is, included from docs/deploy/; only the listener is plain http (no certificate
    here)."""
    site = (DEPLOY / "genesis.conf").read_text()

    def servers(port: int) -> str:
        return "".join(
            f"server {cluster.ip[h]}:{port}{' down' if h in down else ''};\n    "
            for h in ("app1", "app2")
        )

    upstreams = "\n".join(
        re.search(rf"^upstream {name} \{{.*?^\}}", site, re.M | re.S)
        .group(0)
        .replace(f"server 127.0.0.1:{port};\n    ", servers(port))
        for name, port in (("genesis", WEB_PORT), ("genesis_mcp", MCP_PORT))
    )
    surface_map = re.search(r"^map \$uri \$genesis_surface \{.*?^\}", site, re.M | re.S).group(0)
    return f"""
daemon off;
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log;
events {{ worker_connections 1024; }}
http {{
    log_format upstreams '$msec $request_time $upstream_addr';
    access_log {directory}/access.log upstreams;
    client_body_temp_path {directory}/body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    {upstreams}
    {surface_map}
    server {{
        listen {cluster.ip["lb"]}:80;
        include {DEPLOY / "genesis-proxy.conf"};
    }}
}}
"""
