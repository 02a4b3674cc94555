"""Real identity providers on loopback for the SSO tests, run by Node 22 from tests/clients
(the packages want a current LTS): an OpenID provider (the `oidc-provider` npm package,
tests/idp/oidc.mjs) and a SAML 2.0 IdP (the `samlify` npm package, tests/idp/saml.mjs).
Without them the tests skip, saying so; GENESIS_REQUIRE_CLIENTS (CI) makes that a failure."""

import json
import os
import selectors
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.servers import free_port

TESTS = Path(__file__).resolve().parent.parent
NODE = TESTS / "clients" / "node_modules" / ".bin" / "node"
PACKAGES = [TESTS / "idp" / "node_modules" / name for name in ("oidc-provider", "samlify")]

CLIENT_ID = "genesis-console"
CLIENT_SECRET = "tests-only-client-secret"


def require_node():
    if NODE.exists() and all(package.exists() for package in PACKAGES):
        return
    message = "needs npm ci --prefix tests/idp and --prefix tests/clients (Node 22)"
    if os.environ.get("GENESIS_REQUIRE_CLIENTS"):
        pytest.fail(f"GENESIS_REQUIRE_CLIENTS is set: {message}")
    pytest.skip(message)


class NodeServer:
    """One of tests/idp's scripts, its `config` in IDP_CONFIG, until it prints "ready"."""

    script: Path
    config: dict

    def __enter__(self):
        env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
        env["IDP_CONFIG"] = json.dumps(self.config)
        self.process = subprocess.Popen(  # noqa: S603 (our own command line)
            [str(NODE), str(self.script)],
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
        raise RuntimeError(f"the test identity provider {self.script.name} did not start")

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class OpenIdProvider(NodeServer):
    """`people`: login -> claims (email, email_verified, name). `tamper`: "", "audience"
    or "expired" (tests/idp/oidc.mjs)."""

    script = TESTS / "idp" / "oidc.mjs"

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


def self_signed_certificate() -> tuple[str, str]:
    """A fresh RSA key and its self-signed certificate (PEM): the test IdP's signing pair."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Genesis test IdP")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM).decode()


class SamlIdentityProvider(NodeServer):
    """`sp`: {entity_id, acs_url} (sso.services.sp_urls). `people`: login -> {email,
    name}. `tamper`: "", "audience", "expired", "unsigned", "message" or
    "tampered"
    (tests/idp/saml.mjs). `host`: the name its URLs use ("localhost": another site than
    the console's 127.0.0.1, as a company's IdP is)."""

    script = TESTS / "idp" / "saml.mjs"

    def __init__(
        self,
        sp: dict,
        people: dict,
        *,
        port=None,
        tamper: str = "",
        host: str = "127.0.0.1",
        keys: tuple[str, str] | None = None,
    ):
        self.port = port or free_port()
        self.origin = f"http://{host}:{self.port}"
        self.metadata_url = f"{self.origin}/metadata"
        # The same `keys` and port make the same IdP (its metadata unchanged) run again
        # with other settings.
        key, self.certificate = keys or self_signed_certificate()
        self.config = {
            "host": host,
            "port": self.port,
            "key": key,
            "cert": self.certificate,
            "sp": sp,
            "people": people,
            "tamper": tamper,
        }
