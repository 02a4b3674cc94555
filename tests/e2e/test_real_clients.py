"""Real MCP clients from npm against the real server: the MCP Inspector CLI, mcp-remote and
Claude Code configured with a key header at /mcp (never sent into OAuth), and mcp-remote
signing in with OAuth at /mcp/oauth, the person consenting in Chromium.

The clients are pinned in tests/clients/package.json (with Node 22); .ci/run installs
them with `npm ci --prefix tests/clients`. Without them these tests skip, saying so,
unless GENESIS_REQUIRE_CLIENTS is set (CI sets it): then a missing client fails."""

import json
import os
import queue
import subprocess
import threading
from pathlib import Path

import pytest
from django.conf import settings
from oauth2_provider.models import Application
from playwright.sync_api import expect

from apikeys.models import ApiKey
from oauth.models import AuthorizedApp
from tests.servers import free_port

BIN = Path(__file__).resolve().parent.parent / "clients" / "node_modules" / ".bin"
NODE = BIN / "node"


@pytest.fixture(autouse=True)
def _clients_installed():
    if all((BIN / name).exists() for name in ("node", "mcp-remote", "mcp-inspector", "claude")):
        return
    message = "needs the npm clients: npm ci --prefix tests/clients"
    if os.environ.get("GENESIS_REQUIRE_CLIENTS"):
        pytest.fail(f"GENESIS_REQUIRE_CLIENTS is set: {message}")
    pytest.skip(message)


def node_env(tmp_path) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(
        PATH=f"{BIN}:{env.get('PATH', '')}",
        MCP_REMOTE_CONFIG_DIR=str(tmp_path / "mcp-auth"),  # no tokens from elsewhere
        BROWSER="true",  # mcp-remote "opens" the URL; the test's Chromium does instead
        HOME=str(tmp_path),
    )
    return env


def test_the_inspector_cli_with_a_key_header(live, member, make_key, tmp_path):
    key = make_key(member, "Inspector")
    result = subprocess.run(  # noqa: S603 (the pinned clients)
        [
            str(NODE),
            str(BIN / "mcp-inspector"),
            "--cli",
            f"{live.mcp_url}{settings.MCP_PATH}",
            "--transport",
            "http",
            "--method",
            "tools/call",
            "--tool-name",
            "whoami",
            "--header",
            f"Authorization: Bearer {key.plaintext}",
        ],
        capture_output=True,
        text=True,
        timeout=90,
        env=node_env(tmp_path),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert member.user.email in result.stdout
    assert not Application.objects.exists()  # it registered nowhere


def test_claude_codes_connection_check_with_a_key_header(
    one_origin, live, member, make_key, tmp_path
):
    """`claude mcp list` checks each server: the key URL connects with its header; the
    sign-in URL is recognised as one that needs signing in, never as broken."""
    key = make_key(member, "Claude Code")
    env = node_env(tmp_path)

    def claude(*args):
        return subprocess.run(  # noqa: S603 (the pinned clients)
            [str(BIN / "claude"), *args],  # a native program
            capture_output=True,
            text=True,
            timeout=90,
            env=env,
            cwd=tmp_path,
            check=False,
        )

    add = ["mcp", "add", "--transport", "http"]
    header = f"Authorization: Bearer {key.plaintext}"
    assert (
        claude(*add, "genesis", f"{live.mcp_url}{settings.MCP_PATH}", "--header", header).returncode
        == 0
    )
    assert claude(*add, "genesis-oauth", f"{live.url}{settings.MCP_OAUTH_PATH}").returncode == 0
    listed = claude("mcp", "list")
    assert listed.returncode == 0, listed.stderr
    lines = {line.split(":", 1)[0]: line for line in listed.stdout.splitlines() if ": http" in line}
    assert "Connected" in lines["genesis"], listed.stdout
    assert "Needs authentication" in lines["genesis-oauth"], listed.stdout
    assert key.plaintext not in listed.stdout
    assert ApiKey.objects.get(pk=key.pk).last_used_at is not None
    assert not Application.objects.exists()  # the check registered nowhere


class Stdio:
    """A stdio MCP client process (mcp-remote): JSON-RPC lines in, lines out."""

    def __init__(self, args, env):
        self.process = subprocess.Popen(  # noqa: S603 (the pinned clients)
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines = queue.Queue()
        self.errors = queue.Queue()
        threading.Thread(
            target=self._read, args=(self.process.stdout, self.lines), daemon=True
        ).start()
        threading.Thread(
            target=self._read, args=(self.process.stderr, self.errors), daemon=True
        ).start()
        self.stderr = []

    @staticmethod
    def _read(stream, lines):
        for line in stream:
            lines.put(line)

    def send(self, message):
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def answer(self, request_id, timeout=60):
        while True:
            line = self.lines.get(timeout=timeout)
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message.get("id") == request_id:
                return message

    def stderr_line(self, containing, timeout=60):
        while True:
            line = self.errors.get(timeout=timeout)
            self.stderr.append(line)
            if containing in line:
                return line

    def initialize_and_call_whoami(self):
        self.send(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "genesis-tests", "version": "1"},
                },
            }
        )
        assert "result" in self.answer(1), self.stderr
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        self.send(
            {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "tools/call",
                "params": {"name": "whoami", "arguments": {}},
            }
        )
        return self.answer(2)["result"]["structuredContent"]

    def close(self):
        self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def stdio():
    started = []

    def start(args, env):
        started.append(Stdio(args, env))
        return started[-1]

    yield start
    for each in started:
        each.close()


def test_mcp_remote_with_a_key_header_is_never_sent_into_oauth(
    live, member, make_key, tmp_path, stdio
):
    key = make_key(member, "mcp-remote")
    client = stdio(
        [
            str(NODE),
            str(BIN / "mcp-remote"),
            f"{live.mcp_url}{settings.MCP_PATH}",
            str(free_port()),
            "--allow-http",
            "--header",
            f"Authorization:Bearer {key.plaintext}",
        ],
        node_env(tmp_path),
    )
    me = client.initialize_and_call_whoami()
    assert me["user_email"] == member.user.email
    assert me["key_name"] == "mcp-remote"
    assert not Application.objects.exists()  # it found no OAuth, and registered nowhere
    key = ApiKey.objects.get(pk=key.pk)
    assert key.last_used_at is not None


def test_mcp_remote_signs_in_with_oauth(one_origin, live, page, member, sign_in, tmp_path, stdio):
    sign_in(member)
    client = stdio(
        [
            str(NODE),
            str(BIN / "mcp-remote"),
            f"{live.url}{settings.MCP_OAUTH_PATH}",
            str(free_port()),
            "--allow-http",
        ],
        node_env(tmp_path),
    )
    client.stderr_line("Please authorize this client by visiting:")
    url = client.stderr_line("/oauth/authorize/").strip()
    page.goto(url)
    expect(page.get_by_role("heading", name="Authorize MCP CLI")).to_be_visible()
    page.get_by_role("button", name="Authorize", exact=True).click()
    # Chromium follows the redirect to mcp-remote's own callback server.
    expect(page.locator("body")).to_contain_text("Authorization successful", timeout=20000)

    me = client.initialize_and_call_whoami()
    assert me["user_email"] == member.user.email
    grant = AuthorizedApp.objects.get()
    assert grant.is_active and grant.client_name.startswith("MCP CLI")
    assert grant.scopes == "mcp:read mcp:write"
