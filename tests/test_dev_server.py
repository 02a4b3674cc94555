"""The README's first command, as a newcomer runs it: it sets up SQLite with demo data and
serves the console, the API and the MCP server for a minute of use (sign-ins, new keys,
API and MCP calls, an OAuth client registering: all of them writes) without restarting
itself; it restarts when code changes, and stops on SIGTERM.

It runs on a copy of the repository (the command writes its database and translations
where it runs), with this interpreter standing in for the README's fresh venv."""

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
MINUTE = 60
DEMO_PASSWORD = "genesis-demo"


def readme_first_command() -> list[str]:
    """The README's first command, step by step (its `&&`-joined parts)."""
    block = re.search(r"```sh\n(.+?)\n```", (ROOT / "README.md").read_text(), re.S).group(1)
    return [step.strip() for step in block.replace("\\\n", " ").split("&&")]


def as_here(step: str) -> tuple[dict, list[str]]:
    """A README step as (environment, argv), with this interpreter for the venv's."""
    words = shlex.split(step)
    env = {}
    while "=" in words[0]:
        name, value = words.pop(0).split("=", 1)
        env[name] = value
    if words[0] == ".venv/bin/python":
        words[0] = sys.executable
    elif words[0].startswith(".venv/bin/"):
        words[0] = str(Path(sys.executable).parent / words[0].removeprefix(".venv/bin/"))
    return env, words


@pytest.fixture
def checkout(tmp_path):
    """The repository's files (what git tracks, and new files not yet added) in a folder of
    their own."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for name in listed:
        source = ROOT / name
        if source.is_file() and not name.startswith("tests/clients/"):
            target = tmp_path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return tmp_path


def clean_env(**extra) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "REDIS_", "PUBLIC_", "ALLOWED_"))
    }
    return {**env, **extra}


def wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s: {what}")


def sign_in(client: httpx.Client) -> None:
    page = client.get("/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    signed_in = client.post(
        "/accounts/login/",
        data={
            "csrfmiddlewaretoken": token,
            "login": "member@example.com",
            "password": DEMO_PASSWORD,
        },
        headers={"Referer": f"{client.base_url}accounts/login/"},
    )
    assert signed_in.status_code == 302, signed_in.text[:500]


def create_key(client: httpx.Client, name: str) -> str:
    token = client.cookies["csrftoken"]
    made = client.post(
        "/o/acme/api-keys/create/",
        data={"name": name, "expires": "7", "csrfmiddlewaretoken": token},
        headers={"Referer": f"{client.base_url}o/acme/api-keys/"},
    )
    assert made.status_code == 200, made.status_code
    return re.search(r"gns_[0-9A-Za-z]{38}", made.text).group(0)


def mcp_whoami(client: httpx.Client, key: str) -> dict:
    answer = client.post(
        "/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "whoami"}},
        headers={
            "Authorization": f"Bearer {key}",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-06-18",
        },
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_readme_command_serves_a_minute_of_writes_without_restarting(checkout):
    steps = readme_first_command()
    # The venv and what it installs (this interpreter's venv, from the same lock).
    assert steps[0].startswith("python3 -m venv .venv")
    assert steps[1].endswith("--require-hashes -r requirements-dev.lock")
    assert steps[2].endswith("--no-deps -e .")
    *setup, serve = steps[3:]
    for step in setup:
        env, argv = as_here(step)
        subprocess.run(argv, cwd=checkout, env=clean_env(**env), check=True, timeout=300)  # noqa: S603
    env, argv = as_here(serve)
    port = free_port()
    with serving(on_port(argv, port), checkout, clean_env(**env)):
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=10) as client:
            wait_for(lambda: _answers(client), 30, "the server answers")
            started = _log(checkout)
            assert "Listening at" in started
            sign_in(client)
            key = create_key(client, "First")
            made = 1
            end = time.monotonic() + MINUTE
            while time.monotonic() < end:
                assert client.get("/o/acme/api-keys/").status_code == 200
                me = client.get("/api/v1/me", headers={"x-api-key": key})
                assert me.status_code == 200 and me.json()["key_name"] == "First"
                assert "member@example.com" in str(mcp_whoami(client, key))
                if made < 6:  # a few more writes of every kind: keys, an OAuth client
                    made += 1
                    create_key(client, f"Key {made}")
                    registered = client.post(
                        "/oauth/register/",
                        json={
                            "client_name": f"Client {made}",
                            "redirect_uris": ["http://127.0.0.1:9/callback"],
                            "grant_types": ["authorization_code", "refresh_token"],
                            "token_endpoint_auth_method": "none",
                        },
                    )
                    assert registered.status_code == 201, registered.text
                time.sleep(0.5)  # paces the minute of use; nothing waits on it
            # OAuth's issuer is this server's address, on whatever port it was given.
            issuer = client.get("/.well-known/oauth-authorization-server/oauth").json()["issuer"]
            assert issuer == f"{base}/oauth"
            assert "Changes detected" not in _log(checkout)
            assert _log(checkout).count("Spawning worker") == 1
            # It does watch the code.
            (checkout / "genesis" / "views.py").touch()
            wait_for(lambda: "Changes detected" in _log(checkout), 20, "a reload on a code change")
            wait_for(lambda: _answers(client), 30, "the server answers after reloading")


@contextlib.contextmanager
def serving(argv: list[str], cwd: Path, env: dict):
    """The server, logging to `cwd`/server.log; stopped as systemd and Ctrl-C stop it
    (SIGTERM: it must be gone within 15 s), its whole group killed if it isn't."""
    log = (cwd / "server.log").open("w")
    server = subprocess.Popen(  # noqa: S603
        argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        yield server
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def on_port(argv: list[str], port: int) -> list[str]:
    if "--port" in argv:
        at = argv.index("--port") + 1
        return [*argv[:at], str(port), *argv[at + 1 :]]
    return [*argv, "--port", str(port)]


def _answers(client: httpx.Client) -> bool:
    try:
        return client.get("/api/v1/health").status_code == 200
    except httpx.TransportError:
        return False


def _log(checkout: Path) -> str:
    return (checkout / "server.log").read_text()


def test_serve_refuses_to_run_without_debug(tmp_path):
    refused = subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "manage.py"), "serve", "--no-reload"],
        cwd=tmp_path,
        env=clean_env(DJANGO_SETTINGS_MODULE="genesis.settings", DEBUG="0"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode != 0
    assert "DEBUG" in refused.stderr


def test_without_granians_reload_extra_it_serves_and_says_it_wont_restart(tmp_path):
    """As from the production lock, which leaves out granian's reload extra (watchfiles)."""
    port = free_port()
    without_watchfiles = (
        "import sys; sys.modules['watchfiles'] = None; "  # what `import watchfiles` then fails on
        f"sys.path.insert(0, {str(ROOT)!r}); "
        "from django.core.management import execute_from_command_line; "
        f"execute_from_command_line(['manage.py', 'serve', '--port', '{port}'])"
    )
    with serving(
        [sys.executable, "-c", without_watchfiles],
        tmp_path,
        clean_env(
            DJANGO_SETTINGS_MODULE="genesis.settings",
            DEBUG="1",
            DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
            # Set, so that serve has no reason to start again (without this test's setup).
            PUBLIC_URL=f"http://127.0.0.1:{port}",
        ),
    ):
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            wait_for(lambda: _answers(client), 30, "the server answers")
        said = (tmp_path / "server.log").read_text()
        assert "Not restarting when the code changes" in said
        assert "requirements-dev.lock" in said
