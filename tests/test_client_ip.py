"""The client's IP address behind proxies: one decision (infra.client_ip), believed only
from the proxies in TRUSTED_PROXIES, read by the key throttle, the sign-in lockout, the
audit log and "last used", under every server the README documents."""

import re

import httpx
import pytest
from django.test import Client

from infra.client_ip import decide
from infra.limits import rate
from organizations.models import AuditAction, AuditEvent

from . import sessions
from .factories import PASSWORD
from .servers import GRANIAN, ServerProcess, python_module

ATTACKER, VICTIM = "203.0.113.66", "198.51.100.7"
TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded_for", "client"),
    [
        ([], "192.0.2.1", None, "192.0.2.1"),
        ([], "127.0.0.1", "203.0.113.66", "127.0.0.1"),  # nobody trusted: header ignored
        (["127.0.0.1"], "127.0.0.1", "203.0.113.66", "203.0.113.66"),
        (["127.0.0.1"], "192.0.2.9", "203.0.113.66", "192.0.2.9"),  # untrusted peer
        # The client may write anything left of what our proxy appended.
        (["127.0.0.1"], "127.0.0.1", "6.6.6.6, 203.0.113.66", "203.0.113.66"),
        # Two trusted hops (a CDN range and the local proxy), found by range.
        (
            ["127.0.0.1", "10.0.0.0/8"],
            "127.0.0.1",
            "1.1.1.1, 203.0.113.66, 10.2.3.4",
            "203.0.113.66",
        ),
        (["10.0.0.0/8", "::1"], "::1", "10.0.0.5", "10.0.0.5"),  # all trusted: the left-most
        (["::1"], "::1", "2001:db8::7", "2001:db8::7"),
        (["127.0.0.1"], "::ffff:127.0.0.1", "203.0.113.66", "203.0.113.66"),
        (["127.0.0.1"], "127.0.0.1", "203.0.113.66:4711", "203.0.113.66"),
        (["127.0.0.1"], "127.0.0.1", "[2001:db8::7]:4711", "2001:db8::7"),
        # Garbage from a proxy: nothing left of it is believed, the proxy is the client.
        (["127.0.0.1"], "127.0.0.1", "203.0.113.66, not-an-ip", "127.0.0.1"),
        (["127.0.0.1"], "127.0.0.1", "", "127.0.0.1"),
        ([], "", "203.0.113.66", ""),  # a Unix socket
    ],
)
def test_the_client_is_the_right_most_untrusted_address(
    settings, trusted, peer, forwarded_for, client
):
    settings.TRUSTED_PROXIES = trusted
    assert decide(peer, forwarded_for) == client


def test_a_forwarded_scheme_counts_only_from_a_trusted_proxy(settings, client, db):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    # The test client's peer is 127.0.0.1.
    assert client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https").status_code == 301
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    assert client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https").status_code == 200


def me(server_url, key, forwarded_for=None):
    headers = {"x-api-key": key}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    return httpx.get(f"{server_url}/api/v1/me", headers=headers, timeout=10)


def mcp(server_url, key, forwarded_for=None):
    headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    return httpx.post(f"{server_url}/mcp", json=TOOLS, headers=headers, timeout=10)


def flood(call, server_url, forwarded_for):
    for _ in range(rate("key_failures").count + 1):
        assert call(server_url, "gns_wrong", forwarded_for).status_code == 401
    assert call(server_url, "gns_wrong", forwarded_for).status_code == 429


@pytest.mark.parametrize("call", [me, mcp], ids=["api", "mcp"])
def test_behind_a_trusted_proxy_one_clients_flood_never_locks_out_another(
    server, transactional_db, settings, member, make_key, call
):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    key = make_key(member)
    flood(call, server.url, ATTACKER)
    assert call(server.url, key.plaintext, VICTIM).status_code == 200
    assert call(server.url, key.plaintext, ATTACKER).status_code == 429
    key.refresh_from_db()
    assert key.last_used_ip == VICTIM


@pytest.mark.parametrize("call", [me, mcp], ids=["api", "mcp"])
def test_without_trusted_proxies_a_forged_header_is_ignored(
    server, transactional_db, member, make_key, call
):
    key = make_key(member)
    assert call(server.url, key.plaintext, VICTIM).status_code == 200
    key.refresh_from_db()
    assert key.last_used_ip == "127.0.0.1"
    # Rotating the header gains nothing: every request counts against the real peer.
    for number in range(rate("key_failures").count + 1):
        assert call(server.url, "gns_wrong", f"192.0.2.{number}").status_code == 401
    assert call(server.url, key.plaintext, VICTIM).status_code == 429


def sign_in(server_url, email, password, forwarded_for):
    """Sign in through the real server, as a browser behind the proxy would."""
    with httpx.Client(base_url=server_url, timeout=10) as browser:
        headers = {"X-Forwarded-For": forwarded_for}
        form = browser.get("/accounts/login/", headers=headers).text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        return browser.post(
            "/accounts/login/",
            data={"login": email, "password": password, "csrfmiddlewaretoken": token},
            headers=headers,
        )


def test_behind_a_trusted_proxy_the_sign_in_lockout_is_per_client(
    server, transactional_db, settings, member
):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    email = member.user.email
    for _ in range(5):
        sign_in(server.url, email, "wrong", ATTACKER)
    assert sign_in(server.url, email, PASSWORD, ATTACKER).status_code == 429
    signed_in = sign_in(server.url, email, PASSWORD, VICTIM)
    assert signed_in.status_code == 302
    assert signed_in.headers["Location"] == "/"


def test_without_trusted_proxies_rotating_the_header_does_not_escape_the_lockout(
    server, transactional_db, member
):
    email = member.user.email
    for number in range(5):
        sign_in(server.url, email, "wrong", f"192.0.2.{number}")
    assert sign_in(server.url, email, PASSWORD, "192.0.2.99").status_code == 429


def test_the_audit_log_records_the_forwarded_client(server, transactional_db, settings, member):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    session = Client()
    sessions.sign_in(session, member.user)
    cookies = {name: morsel.value for name, morsel in session.cookies.items()}
    with httpx.Client(base_url=server.url, cookies=cookies, timeout=10) as browser:
        headers = {"X-Forwarded-For": VICTIM}
        form = browser.get("/o/acme/api-keys/create/", headers=headers).text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        created = browser.post(
            "/o/acme/api-keys/create/",
            data={"name": "From behind the proxy", "csrfmiddlewaretoken": token},
            headers=headers,
        )
    assert created.status_code == 200
    event = AuditEvent.objects.get(action=AuditAction.KEY_CREATED)
    assert event.ip == VICTIM


def test_under_the_production_server_the_same_decision_holds(transactional_db, member, make_key):
    """granian (README, "Production") leaves REMOTE_ADDR to the peer and reads no
    forwarded header itself: the decision is still ours."""
    key = make_key(member)
    with ServerProcess(GRANIAN, TRUSTED_PROXIES="127.0.0.1") as granian:
        flood(me, granian.url, ATTACKER)
        assert me(granian.url, key.plaintext, VICTIM).status_code == 200
        assert mcp(granian.url, key.plaintext, VICTIM).status_code == 200
    key.refresh_from_db()
    assert key.last_used_ip == VICTIM
    other = make_key(member, "untrusted")
    with ServerProcess(GRANIAN) as granian:  # no TRUSTED_PROXIES
        assert me(granian.url, other.plaintext, VICTIM).status_code == 200
    other.refresh_from_db()
    assert other.last_used_ip == "127.0.0.1"
    # Nor is the scheme taken from a client: the https redirect holds.
    with ServerProcess(GRANIAN, SECURE_SSL_REDIRECT="1") as granian:
        forged = {"X-Forwarded-Proto": "https", "X-Forwarded-Ssl": "on"}
        assert httpx.get(f"{granian.url}/api/v1/health", headers=forged).status_code == 301


def test_a_header_spelled_with_underscores_is_not_believed(
    server, transactional_db, settings, member, make_key
):
    """WSGI spells X_Forwarded_For like X-Forwarded-For; a proxy that passes the first
    (nginx with underscores_in_headers on) must not let the client write the second."""
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    key = make_key(member)
    headers = [
        ("x-api-key", key.plaintext),
        ("X-Forwarded-For", VICTIM),  # what the proxy wrote
        ("X_Forwarded_For", "6.6.6.6"),  # what the client sent along
    ]
    assert httpx.get(f"{server.url}/api/v1/me", headers=headers).status_code == 200
    key.refresh_from_db()
    assert key.last_used_ip == VICTIM


def test_uvicorn_started_as_the_readme_says_ignores_a_forged_header(
    transactional_db, member, make_key
):
    key = make_key(member)
    command = python_module(
        "uvicorn", "genesis.asgi:application", "--host", "127.0.0.1", "--port", "{port}",
        "--no-proxy-headers", "--no-access-log",
    )  # fmt: skip
    with ServerProcess(command) as uvicorn:
        assert me(uvicorn.url, key.plaintext, VICTIM).status_code == 200
        assert mcp(uvicorn.url, key.plaintext, VICTIM).status_code == 200
    key.refresh_from_db()
    assert key.last_used_ip == "127.0.0.1"


def test_a_bad_trusted_proxies_entry_stops_the_start():
    from .test_settings import load_settings

    result = load_settings(
        SECRET_KEY="s" * 50, APIKEY_PEPPERS="p1:" + "x" * 32, TRUSTED_PROXIES="127.0.0.1,nginx"
    )
    assert result.returncode != 0
    assert "TRUSTED_PROXIES: 'nginx' is not an IP address or CIDR range" in result.stderr
