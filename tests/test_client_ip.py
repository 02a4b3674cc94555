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
from .servers import Production

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


_forwarded = (f"198.51.{b}.{c}" for b in range(100, 200) for c in range(1, 255))


@pytest.fixture
def forwarded():
    """Two client addresses of this test's own, as a proxy would forward them."""
    return next(_forwarded), next(_forwarded)


def me(url, key, forwarded_for=None, address=None):
    headers = {"x-api-key": key}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    with client_from(address) as http:
        return http.get(f"{url}/api/v1/me", headers=headers)


def mcp(url, key, forwarded_for=None, address=None):
    headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    with client_from(address) as http:
        return http.post(f"{url}/mcp", json=TOOLS, headers=headers)


def client_from(address) -> httpx.Client:
    return httpx.Client(timeout=10, transport=httpx.HTTPTransport(local_address=address))


def flood(call, url, forwarded_for=None, address=None):
    """Failed checks from one client until it is throttled. The servers' windows follow
    the real clock, and a burst that straddles a window's end starts counting again: so
    up to twice the limit."""
    for _ in range(2 * (rate("key_failures").count + 1)):
        status = call(url, "gns_wrong", forwarded_for, address).status_code
        assert status in (401, 429)
        if status == 429:
            return
    raise AssertionError("never throttled")


@pytest.mark.parametrize("call", [me, mcp], ids=["api", "mcp"])
def test_behind_a_trusted_proxy_one_clients_flood_never_locks_out_another(
    proxied, transactional_db, member, make_key, call, forwarded
):
    attacker, victim = forwarded
    url = proxied.url if call is me else proxied.mcp_url
    key = make_key(member)
    flood(call, url, attacker)
    assert call(url, key.plaintext, victim).status_code == 200
    assert call(url, key.plaintext, attacker).status_code == 429
    key.refresh_from_db()
    assert key.last_used_ip == victim


@pytest.mark.parametrize("call", [me, mcp], ids=["api", "mcp"])
def test_without_trusted_proxies_a_forged_header_is_ignored(
    direct, transactional_db, member, make_key, call, address
):
    url = direct.url if call is me else direct.mcp_url
    key = make_key(member)
    assert call(url, key.plaintext, VICTIM, address).status_code == 200
    key.refresh_from_db()
    assert key.last_used_ip == address
    # Rotating the header gains nothing: every request counts against the real peer.
    for number in range(2 * (rate("key_failures").count + 1)):  # see flood()
        status = call(url, "gns_wrong", f"192.0.2.{number}", address).status_code
        assert status in (401, 429)
        if status == 429:
            break
    assert call(url, key.plaintext, VICTIM, address).status_code == 429


def sign_in(url, email, password, forwarded_for, address=None):
    """Sign in through the real server, as a browser behind the proxy would."""
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=url, timeout=10, transport=transport) as browser:
        headers = {"X-Forwarded-For": forwarded_for}
        form = browser.get("/accounts/login/", headers=headers).text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        return browser.post(
            "/accounts/login/",
            data={"login": email, "password": password, "csrfmiddlewaretoken": token},
            headers=headers,
        )


def test_behind_a_trusted_proxy_the_sign_in_lockout_is_per_client(
    proxied, transactional_db, member, forwarded
):
    attacker, victim = forwarded
    email = member.user.email
    for _ in range(5):
        sign_in(proxied.url, email, "wrong", attacker)
    assert sign_in(proxied.url, email, PASSWORD, attacker).status_code == 429
    signed_in = sign_in(proxied.url, email, PASSWORD, victim)
    assert signed_in.status_code == 302
    assert signed_in.headers["Location"] == "/"


def test_without_trusted_proxies_rotating_the_header_does_not_escape_the_lockout(
    direct, transactional_db, member, address
):
    email = member.user.email
    for number in range(5):
        sign_in(direct.url, email, "wrong", f"192.0.2.{number}", address)
    assert sign_in(direct.url, email, PASSWORD, "192.0.2.99", address).status_code == 429


def test_the_audit_log_records_the_forwarded_client(proxied, transactional_db, member, forwarded):
    _, victim = forwarded
    session = Client()
    sessions.sign_in(session, member.user)
    cookies = {name: morsel.value for name, morsel in session.cookies.items()}
    with httpx.Client(base_url=proxied.url, cookies=cookies, timeout=10) as browser:
        headers = {"X-Forwarded-For": victim}
        form = browser.get("/o/acme/api-keys/create/", headers=headers).text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        created = browser.post(
            "/o/acme/api-keys/create/",
            data={"name": "From behind the proxy", "csrfmiddlewaretoken": token},
            headers=headers,
        )
    assert created.status_code == 200
    event = AuditEvent.objects.get(action=AuditAction.KEY_CREATED)
    assert event.ip == victim


def test_the_production_server_never_takes_the_scheme_from_a_client(transactional_db):
    with Production(nginx=False, SECURE_SSL_REDIRECT="1") as production:
        forged = {"X-Forwarded-Proto": "https", "X-Forwarded-Ssl": "on"}
        assert httpx.get(f"{production.url}/api/v1/health", headers=forged).status_code == 301


def test_a_bad_trusted_proxies_entry_stops_the_start():
    from .test_settings import load_settings

    result = load_settings(
        SECRET_KEY="s" * 50, APIKEY_PEPPERS="p1:" + "x" * 32, TRUSTED_PROXIES="127.0.0.1,nginx"
    )
    assert result.returncode != 0
    assert "TRUSTED_PROXIES: 'nginx' is not an IP address or CIDR range" in result.stderr
