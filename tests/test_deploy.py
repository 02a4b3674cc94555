"""The production layout as the repository ships it (docs/deploy/): the systemd unit
passes `systemd-analyze verify`, and its server command, with Debian's nginx in front
using the shipped proxy settings, serves the console, the API and the MCP server with the
right client address."""

import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from infra.limits import rate

from .servers import ROOT, ServerProcess, free_port

DEPLOY = ROOT / "docs" / "deploy"
VENV_BIN = Path(sys.executable).parent  # this virtual environment's
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
needs_nginx = pytest.mark.skipif(
    not Path(NGINX).exists(), reason="needs nginx (apt-get install nginx)"
)


def unit_for_this_machine(tmp_path: Path) -> Path:
    """The unit with this checkout's paths in place of /srv/genesis."""
    text = (DEPLOY / "genesis.service").read_text()
    text = text.replace("/srv/genesis/.venv/bin", str(VENV_BIN)).replace("/srv/genesis", str(ROOT))
    env_file = tmp_path / "genesis.env"
    env_file.write_text("DEBUG=0\n")
    text = text.replace("/etc/genesis.env", str(env_file))
    unit = tmp_path / "genesis.service"
    unit.write_text(text)
    return unit


def exec_start(unit: Path) -> list[str]:
    text = unit.read_text().replace("\\\n", " ")
    return shlex.split(re.search(r"^ExecStart=(.+)$", text, re.M).group(1))


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="needs systemd-analyze")
def test_the_systemd_unit_verifies(tmp_path):
    unit = unit_for_this_machine(tmp_path)
    result = subprocess.run(  # noqa: S603
        [shutil.which("systemd-analyze"), "verify", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert str(unit) not in result.stderr, result.stderr  # no warning about our unit


def nginx_config(tmp_path: Path, listen: int, upstream: int) -> Path:
    """An nginx on loopback with the site's map and the shipped proxy settings, in front
    of the server on `upstream`."""
    site = (DEPLOY / "genesis.conf").read_text()
    surface_map = re.search(r"^map \$uri \$genesis_surface \{.*?^\}", site, re.M | re.S).group(0)
    temp = tmp_path / "nginx"
    temp.mkdir()
    config = tmp_path / "nginx.conf"
    config.write_text(
        f"""
daemon off;
worker_processes 1;
pid {temp}/nginx.pid;
error_log {temp}/error.log;
events {{ worker_connections 128; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    upstream genesis {{ server 127.0.0.1:{upstream}; keepalive 4; }}
    {surface_map}
    server {{
        listen 127.0.0.1:{listen};
        include {DEPLOY / "genesis-proxy.conf"};
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


def from_address(address: str) -> httpx.Client:
    """A client whose connections come from this loopback address."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=10)


def wait_for_a_fresh_window():
    # The throttle counts per clock minute, and this server is not ours to pin.
    if time.time() % rate("key_failures").seconds > rate("key_failures").seconds - 10:
        time.sleep(11)


@needs_nginx
def test_behind_nginx_the_shipped_server_serves_everything_with_the_clients_address(
    transactional_db, tmp_path, member, make_key
):
    key = make_key(member)
    command = exec_start(unit_for_this_machine(tmp_path))
    command[command.index("--port") + 1] = "{port}"
    command[command.index("--workers") + 1] = "1"
    server = ServerProcess(command, TRUSTED_PROXIES="127.0.0.1")
    nginx_port = free_port()
    with server, Nginx(nginx_config(tmp_path, nginx_port, server.port), nginx_port) as nginx:
        me = f"{nginx.url}/api/v1/me"
        mcp = f"{nginx.url}/mcp"
        tools = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                 "params": {"name": "whoami", "arguments": {}}}  # fmt: skip
        wait_for_a_fresh_window()
        with from_address("127.0.0.66") as attacker, from_address("127.0.0.7") as victim:
            for number in range(rate("key_failures").count + 1):
                forged = {"x-api-key": "gns_wrong", "X-Forwarded-For": f"192.0.2.{number}"}
                assert attacker.get(me, headers=forged).status_code == 401
            assert attacker.get(me, headers={"x-api-key": key.plaintext}).status_code == 429
            assert victim.get(me, headers={"x-api-key": key.plaintext}).status_code == 200
            answer = victim.post(
                mcp,
                json=tools,
                headers={"Authorization": f"Bearer {key.plaintext}", "Accept": "application/json"},
            )
            assert answer.status_code == 200
            assert answer.json()["result"]["structuredContent"]["key_name"] == key.name
            page = victim.get(f"{nginx.url}/accounts/login/")
            assert "Sign in to Genesis Console" in page.text
        key.refresh_from_db()
        assert key.last_used_ip == "127.0.0.7"

        # 40 clients sending their bodies slowly, and 20 their headers: nginx holds them,
        # the one-request-at-a-time worker never sees them, everyone else is served.
        slow = []
        for number in range(60):
            sock = socket.create_connection(("127.0.0.1", nginx_port), timeout=10)
            if number < 40:
                sock.sendall(
                    b"POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    b"Content-Length: 1000\r\n\r\nusername="
                )
            else:
                sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            slow.append(sock)
        try:
            started = time.monotonic()
            with from_address("127.0.0.7") as victim:
                for _ in range(5):
                    assert victim.get(me, headers={"x-api-key": key.plaintext}).status_code == 200
                    assert victim.get(f"{nginx.url}/api/v1/health").status_code == 200
            assert time.monotonic() - started < 5
        finally:
            for sock in slow:
                sock.close()

        server.__exit__()  # the app restarts: nginx answers for it
        down = httpx.get(me, headers={"x-api-key": key.plaintext}, timeout=10)
        assert down.status_code == 503
        assert down.json()["error"] == "temporarily_unavailable"
        assert down.headers["Retry-After"] == "5"
        page = httpx.get(f"{nginx.url}/accounts/login/", timeout=10)
        assert (page.status_code, "Back in a moment" in page.text) == (503, True)
