"""Real servers for tests that speak HTTP: the production layout (README, "Production
deployment"), as its systemd units start it.

`Production`: genesis-web (granian's WSGI server: the console and the API) and genesis-mcp
(granian's ASGI server: the MCP server), each with its unit's command and flags (one
worker), production settings, on the test database; with Debian's nginx and the shipped
site in front when nginx is installed, so that one origin (PUBLIC_URL's) serves all, as
in production; else each on a port of its own.
`ServerProcess`: one server command in a process of its own, on the test database.
`Nginx`: nginx with the shipped site in front of such servers.
"""

import contextlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "docs" / "deploy"
VENV_BIN = Path(sys.executable).parent  # this virtual environment's
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Each test's own client address on loopback (Linux routes all of 127.0.0.0/8 there): the
# servers count failed key checks per address, in a process the tests can't clear.
_addresses = (f"127.{a}.{b}.{c}" for a in range(8, 255) for b in range(256) for c in range(1, 255))


def client_address() -> str:
    return next(_addresses)


def unit_command(unit: str, workers: int = 1) -> list[str]:
    """A systemd unit's ExecStart (docs/deploy/), with this virtual environment, a free port
    (`{port}`) and `workers` workers."""
    text = (DEPLOY / unit).read_text().replace("\\\n", " ")
    command = shlex.split(re.search(r"^ExecStart=(.+)$", text, re.M).group(1))
    command[0] = str(VENV_BIN / Path(command[0]).name)
    command[command.index("--port") + 1] = "{port}"
    command[command.index("--workers") + 1] = str(workers)
    return command


WEB = unit_command("genesis-web.service")
MCP = unit_command("genesis-mcp.service")


def database_url() -> str:
    """The test database, as a DATABASE_URL for a server in another process."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return (
        f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )


def server_env(**extra) -> dict[str, str]:
    """Production settings (DEBUG off) over plain http on loopback, on the test database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TRUSTED_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="genesis.settings",
        DEBUG="0",
        SECURE_SSL_REDIRECT="0",  # plain http on loopback
        SECURE_COOKIES="0",
        SECRET_KEY=os.environ.get("SECRET_KEY", ""),
        APIKEY_PEPPERS=os.environ.get("APIKEY_PEPPERS", ""),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url(),
        LOG_LEVEL="ERROR",
        DRAIN_SECONDS="0",
    )
    env.update(extra)
    return env


_static_collected = False


def collect_static(env: dict) -> None:
    """What production does before it serves (README, step 4): the pages name their
    static files through collectstatic's manifest. Once per test run."""
    global _static_collected
    if not _static_collected:
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=ROOT, env=env, check=True, timeout=120,
        )  # fmt: skip
        _static_collected = True


class ServerProcess:
    """A server command (`{port}` in it stands for `port`, else a free one) in its own
    process group, up once /api/v1/health answers; stopped with SIGTERM on exit."""

    def __init__(self, command: list[str], port: int | None = None, **env):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [part.replace("{port}", str(self.port)) for part in command]
        self.env = server_env(**env)
        self.process = None

    def __enter__(self):
        collect_static(self.env)
        # A file, not a pipe: a server that logs more than a pipe holds would block.
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(  # noqa: S603 (our own command lines)
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code < 500:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.__exit__()
                raise RuntimeError(f"{' '.join(self.command)} did not start:\n{self.output}")
            time.sleep(0.1)

    def output_so_far(self) -> str:
        """What the server has logged until now (read without moving its file offset)."""
        fd = self.log.fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")

    def __exit__(self, *exc):
        if self.log.closed:
            return  # stopped already
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        # A worker its server left behind (killed above, or a worker that outlived its
        # main) would hold the port and the test database: end the whole group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.log.seek(0)
        self.output = self.log.read().decode(errors="replace")
        self.log.close()


def nginx_config(directory: Path, listen: int, web: int, mcp: int, plain: int) -> Path:
    """nginx on loopback with the shipped site's map and proxy settings, in front of the
    console and API server on `web` and the MCP server on `mcp`; on `plain`, the site's
    port-80 server (what plain http gets)."""
    site = (DEPLOY / "genesis.conf").read_text()
    surface_map = re.search(r"^map \$uri \$genesis_surface \{.*?^\}", site, re.M | re.S).group(0)
    temp = directory / "nginx"
    temp.mkdir(exist_ok=True)
    # nginx's workers run as another user than its master (root here): they write large
    # request bodies to these folders.
    directory.chmod(0o755)
    temp.chmod(0o777)
    config = directory / "nginx.conf"
    config.write_text(
        f"""
daemon off;
worker_processes 1;
pid {temp}/nginx.pid;
error_log {temp}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    # nginx reaches the app from an address of its own: a test's client on 127.0.0.1 is
    # then a client, not the trusted proxy.
    proxy_bind {PROXY_ADDRESS};
    upstream genesis {{ server 127.0.0.1:{web}; keepalive 4; }}
    upstream genesis_mcp {{ server 127.0.0.1:{mcp}; keepalive 4; }}
    {surface_map}
    server {{
        listen 127.0.0.1:{listen};
        include {DEPLOY / "genesis-proxy.conf"};
    }}
    server {{
        listen 127.0.0.1:{plain};
        include {DEPLOY / "genesis-plain-http.conf"};
    }}
}}
"""
    )
    return config


class Nginx:
    def __init__(self, config: Path, port: int):
        self.config, self.port = config, port
        self.url = f"http://127.0.0.1:{port}"

    def __enter__(self):
        self.process = subprocess.Popen(  # noqa: S603
            [NGINX, "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url, timeout=1)
                return self
            except httpx.TransportError:
                time.sleep(0.05)
        self.process.kill()
        raise RuntimeError(self.process.stderr.read().decode())

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=10)


# Where the tests' nginx connects to the app from (its TRUSTED_PROXIES).
PROXY_ADDRESS = "127.0.0.2"


def has_nginx() -> bool:
    return Path(NGINX).exists()


class Production:
    """The production layout (see the module's docstring): `url` is where the console and
    the API answer, `mcp_url` where the MCP server does (the same origin behind nginx).
    With nginx, it listens on `port` and the app believes it (TRUSTED_PROXIES); without,
    the console and API server does."""

    def __init__(
        self, port: int | None = None, *, nginx: bool | None = None, workers: int = 1, **env
    ):
        self.port = port or free_port()
        self.nginx = has_nginx() if nginx is None else nginx
        web = unit_command("genesis-web.service", workers)
        if self.nginx:
            env.setdefault("TRUSTED_PROXIES", PROXY_ADDRESS)
            self.web = ServerProcess(web, **env)
        else:
            self.web = ServerProcess(web, port=self.port, **env)
        self.mcp = ServerProcess(unit_command("genesis-mcp.service", workers), **env)
        self.url = f"http://127.0.0.1:{self.port}"
        self.mcp_url = self.url if self.nginx else self.mcp.url
        self.front = None

    def __enter__(self):
        self.web.__enter__()
        try:
            self.mcp.__enter__()
            if self.nginx:
                self.directory = tempfile.TemporaryDirectory()
                self.plain_port = free_port()
                config = nginx_config(
                    Path(self.directory.name), self.port, self.web.port, self.mcp.port,
                    self.plain_port,
                )  # fmt: skip
                self.front = Nginx(config, self.port).__enter__()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        if self.front is not None:
            self.front.__exit__()
            self.directory.cleanup()
        self.mcp.__exit__()
        self.web.__exit__()

    def transport(self, address: str | None = None) -> httpx.BaseTransport:
        """An httpx transport from `address` that sends MCP_PATH and below to the MCP server
        and the rest to the console and API: one origin, as nginx makes it, whether or not
        nginx is in front."""
        return _BySurface(self, httpx.HTTPTransport(local_address=address))

    @property
    def output(self) -> str:
        return f"{self.web.output}\n{self.mcp.output}"


class _BySurface(httpx.BaseTransport):
    def __init__(self, production: Production, transport: httpx.HTTPTransport):
        self.production, self.transport = production, transport
        self.mcp = httpx.URL(production.mcp_url)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/mcp" or path.startswith("/mcp/"):
            request.url = request.url.copy_with(host=self.mcp.host, port=self.mcp.port)
        return self.transport.handle_request(request)

    def close(self) -> None:
        self.transport.close()
