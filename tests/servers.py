"""Real servers for tests that speak HTTP.

`ThreadedServer`: genesis.asgi under uvicorn in a thread of the test process, so it shares
the test database (a file, see tests/settings.py) and the test's settings.
`ServerProcess`: a server command as the README gives it, in a process of its own, on the
test database.
"""

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThreadedServer:
    """genesis.asgi's application (console, API and MCP) under uvicorn, in a thread."""

    def __init__(self, port: int | None = None):
        from genesis.asgi import build_application

        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            build_application(),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            # As the README starts uvicorn: the client's address is genesis.client_ip's
            # decision, which uvicorn's own X-Forwarded-For handling would pre-empt.
            proxy_headers=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)


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
        SECURE_SSL_REDIRECT="0",
        SECRET_KEY=os.environ["SECRET_KEY"],
        APIKEY_PEPPERS=os.environ["APIKEY_PEPPERS"],
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
    """A server command (`{port}` in it stands for a free port) in its own process group,
    up once /api/v1/health answers; stopped with SIGTERM on exit."""

    def __init__(self, command: list[str], **env):
        self.port = free_port()
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
        self.log.seek(0)
        self.output = self.log.read().decode(errors="replace")
        self.log.close()


def python_module(name: str, *args: str) -> list[str]:
    """`python -m name args...` with this interpreter (the venv's servers)."""
    return [sys.executable, "-m", name, *args]


# The production server as the README starts it, with one worker (the systemd unit in
# docs/deploy/ runs the same command; tests/test_deploy.py runs the unit's own).
GRANIAN = [
    str(Path(sys.executable).parent / "granian"), "--interface", "wsgi", "--host", "127.0.0.1",
    "--port", "{port}", "--workers", "1", "--blocking-threads", "1", "--no-ws",
    "genesis.wsgi:application",
]  # fmt: skip

# genesis.asgi under uvicorn, as the README starts it (one worker).
UVICORN = python_module(
    "uvicorn", "genesis.asgi:application", "--host", "127.0.0.1", "--port", "{port}",
    "--no-proxy-headers", "--no-access-log",
)  # fmt: skip
