"""A real OpenID provider on loopback for the SSO tests: the `oidc-provider` npm package
(tests/idp/oidc.mjs), run by Node 22 from tests/clients (the package wants a current LTS).
Without them the tests skip, saying so; GENESIS_REQUIRE_CLIENTS (CI) makes that a failure."""

import json
import os
import selectors
import subprocess
import time
from pathlib import Path

import pytest

from tests.servers import free_port

TESTS = Path(__file__).resolve().parent.parent
SCRIPT = TESTS / "idp" / "oidc.mjs"
NODE = TESTS / "clients" / "node_modules" / ".bin" / "node"
PACKAGE = TESTS / "idp" / "node_modules" / "oidc-provider"

CLIENT_ID = "genesis-console"
CLIENT_SECRET = "tests-only-client-secret"


def require_node():
    if NODE.exists() and PACKAGE.exists():
        return
    message = "needs npm ci --prefix tests/idp and --prefix tests/clients (Node 22)"
    if os.environ.get("GENESIS_REQUIRE_CLIENTS"):
        pytest.fail(f"GENESIS_REQUIRE_CLIENTS is set: {message}")
    pytest.skip(message)


class OpenIdProvider:
    """`people`: login -> claims (email, email_verified, name). `tamper`: "", "audience"
    or "expired" (tests/idp/oidc.mjs)."""

    def __init__(self, redirect_uri: str, people: dict, *, port=None, tamper: str = ""):
        self.port = port or free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.config = {
            "port": self.port,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uri": redirect_uri,
            "people": people,
            "tamper": tamper,
        }

    def __enter__(self):
        env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
        env["IDP_CONFIG"] = json.dumps(self.config)
        self.process = subprocess.Popen(  # noqa: S603 (our own command line)
            [str(NODE), str(SCRIPT)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self._wait_until_ready(timeout=20)
        return self

    def _wait_until_ready(self, timeout: float):
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if selector.select(timeout=deadline - time.monotonic()):
                line = self.process.stdout.readline()
                if line.strip() == "ready":
                    return
                if not line:  # it exited
                    break
        self.__exit__()
        raise RuntimeError("the test OpenID provider did not start")

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
