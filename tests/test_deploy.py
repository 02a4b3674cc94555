"""The production layout as the repository ships it (docs/deploy/): the systemd units and
their target pass `systemd-analyze verify`, and their server commands, with Debian's nginx
in front using the shipped site, serve the console, the API and the MCP server with the
right client address, answer programs in JSON whatever nginx refuses, and hold slow
clients away from the app."""

import re
import shutil
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from infra.limits import rate

from .factories import PASSWORD
from .servers import DEPLOY, ROOT, VENV_BIN, Production, has_nginx

needs_nginx = pytest.mark.skipif(not has_nginx(), reason="needs nginx (apt-get install nginx)")
UNITS = (
    "genesis-web.service",
    "genesis-mcp.service",
    "genesis-metrics.service",
    "genesis.target",
    "genesis-prune-usage.service",
    "genesis-prune-usage.timer",
    "genesis-stale-key-digests.service",
    "genesis-stale-key-digests.timer",
    "genesis-still-used-notices.service",
    "genesis-still-used-notices.timer",
)
TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
         "params": {"name": "whoami", "arguments": {}}}  # fmt: skip


def units_for_this_machine(tmp_path: Path) -> list[Path]:
    """The units with this checkout's paths in place of /srv/genesis."""
    env_file = tmp_path / "genesis.env"
    env_file.write_text("DEBUG=0\n")
    units = []
    for name in UNITS:
        text = (DEPLOY / name).read_text()
        text = text.replace("/srv/genesis/.venv/bin", str(VENV_BIN)).replace(
            "/srv/genesis", str(ROOT)
        )
        text = text.replace("/etc/genesis.env", str(env_file))
        unit = tmp_path / name
        unit.write_text(text)
        units.append(unit)
    return units


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="needs systemd-analyze")
def test_the_systemd_units_verify(tmp_path):
    units = units_for_this_machine(tmp_path)
    result = subprocess.run(  # noqa: S603
        [shutil.which("systemd-analyze"), "verify", *map(str, units)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    for unit in units:
        assert str(unit) not in result.stderr, result.stderr  # no warning about ours
    target = (DEPLOY / "genesis.target").read_text()
    assert "genesis-web.service" in target and "genesis-mcp.service" in target


def from_address(address: str) -> httpx.Client:
    """A client whose connections come from this loopback address."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=10)


@pytest.fixture(scope="module")
def deployment(django_db_setup):
    """Both servers as their units start them, behind nginx with the shipped site, on a
    port that is neither 80 nor 443, for the module: the tests that share it come from
    addresses of their own, and none stops it."""
    with Production(nginx=True) as production:
        yield production


@pytest.fixture
def deployed(deployment, transactional_db):
    return deployment


@pytest.fixture
def restarting(transactional_db):
    """A deployment of the test's own, for a test that stops its servers."""
    with Production(nginx=True) as production:
        yield production


@needs_nginx
def test_behind_nginx_everything_is_served_with_the_clients_address(deployed, member, make_key):
    key = make_key(member)
    me = f"{deployed.url}/api/v1/me"
    mcp = f"{deployed.url}/mcp"
    with from_address("127.0.0.66") as attacker, from_address("127.0.0.7") as victim:
        # The attacker floods (rotating a forged header gains nothing) until refused: in
        # a window of the clock, which may end once meanwhile (these servers' clocks are
        # not ours to pin), so at most twice the limit.
        for number in range(2 * (rate("key_failures").count + 1)):
            forged = {"x-api-key": "gns_wrong", "X-Forwarded-For": f"192.0.2.{number % 250}"}
            status = attacker.get(me, headers=forged).status_code
            if status == 429:
                break
            assert status == 401
        else:
            pytest.fail("the flood was never refused")
        assert attacker.get(me, headers={"x-api-key": key.plaintext}).status_code == 429
        assert victim.get(me, headers={"x-api-key": key.plaintext}).status_code == 200
        headers = {"Authorization": f"Bearer {key.plaintext}", "Accept": "application/json"}
        answer = victim.post(mcp, json=TOOLS, headers=headers)
        assert answer.status_code == 200
        assert answer.json()["result"]["structuredContent"]["key_name"] == key.name
        assert "Sign in to Genesis Console" in victim.get(f"{deployed.url}/accounts/login/").text
        # A header spelled with underscores never reaches the app (nginx drops it): in
        # WSGI it would read as X-Forwarded-For.
        underscored = [("x-api-key", key.plaintext), ("X_Forwarded_For", "6.6.6.6")]
        assert victim.get(me, headers=underscored).status_code == 200
    key.refresh_from_db()
    assert key.last_used_ip == "127.0.0.7"


@needs_nginx
def test_signing_in_through_nginx_works_on_any_port(deployed, member):
    """The console's CSRF check compares the page's origin with the Host the app sees:
    nginx passes it with its port."""
    with httpx.Client(base_url=deployed.url, timeout=10) as browser:
        form = browser.get("/accounts/login/").text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
        signed_in = browser.post(
            "/accounts/login/",
            data={"login": member.user.email, "password": PASSWORD,
                  "csrfmiddlewaretoken": token},
            headers={"Origin": deployed.url, "Referer": f"{deployed.url}/accounts/login/"},
        )  # fmt: skip
    assert signed_in.status_code == 302, signed_in.text[:300]
    assert signed_in.headers["Location"] == "/"


@needs_nginx
def test_slow_clients_are_held_by_nginx_and_everyone_else_is_served(deployed, member, make_key):
    """40 clients sending their bodies slowly, and 20 their headers: nginx holds them,
    the one-request-at-a-time worker never sees them, everyone else is served."""
    key = make_key(member)
    slow = []
    for number in range(60):
        sock = socket.create_connection(("127.0.0.1", deployed.port), timeout=10)
        if number < 40:
            sock.sendall(
                b"POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Length: 1000\r\n\r\nusername="
            )
        else:
            sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        slow.append(sock)
    try:
        with from_address("127.0.0.7") as victim:
            for _ in range(5):
                me = victim.get(f"{deployed.url}/api/v1/me", headers={"x-api-key": key.plaintext})
                assert me.status_code == 200
                assert victim.get(f"{deployed.url}/api/v1/health").status_code == 200
    finally:
        for sock in slow:
            sock.close()


@needs_nginx
@pytest.mark.parametrize(
    "path", ["/api/v1/me", "/api/v1/leaked-keys", "/mcp", "/oauth/token/", "/scim/v2/Users"]
)
def test_a_body_over_the_limit_is_a_json_413_at_every_machine_url(deployed, path):
    """Straight from nginx (client_max_body_size is the app's limit), never acted on."""
    response = httpx.post(f"{deployed.url}{path}", content=b"x" * 3_000_000, timeout=30)
    assert response.status_code == 413
    assert response.json()["error"] == "request_too_large"


@needs_nginx
def test_a_header_longer_than_nginx_takes_is_a_json_400(deployed):
    response = httpx.get(
        f"{deployed.url}/api/v1/me", headers={"x-api-key": "gns_" + "A" * 20_000}, timeout=10
    )
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


@needs_nginx
def test_a_url_longer_than_nginx_takes_is_a_json_414(deployed):
    """nginx can't tell whose it was (it never parsed it): JSON, which programs need."""
    for path in ("/api/v1/me", "/mcp", "/o/acme/api-keys/"):
        answer = httpx.get(f"{deployed.url}{path}?q={'x' * 20_000}", timeout=10)
        assert (answer.status_code, answer.json()["error"]) == (414, "uri_too_long")


@needs_nginx
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/me",
        "/mcp",
        "/oauth/token/",
        "/oauth/register/abc",
        "/oauth/revoke",
        "/metrics",
        "/scim/v2/Users",
    ],
)
def test_over_plain_http_programs_are_refused_in_json_not_redirected(deployed, member, path):
    """A key sent over http went out in clear: the client is told, never sent on (it
    would send the key again)."""
    plain = f"http://127.0.0.1:{deployed.plain_port}"
    refused = httpx.post(f"{plain}{path}", headers={"x-api-key": "gns_x"}, timeout=10)
    assert refused.status_code == 403
    assert "location" not in refused.headers
    assert refused.json()["error"] == "https_required"
    # People (and the consent page, which is theirs) are sent to https.
    for page in ("/accounts/login/", "/oauth/authorize/?client_id=x"):
        moved = httpx.get(f"{plain}{page}", timeout=10)
        assert moved.status_code == 301
        assert moved.headers["location"] == f"https://127.0.0.1{page}"  # https's own port


@needs_nginx
def test_while_the_app_restarts_programs_get_json_and_people_a_page(restarting, member, make_key):
    key = make_key(member)
    restarting.web.__exit__()  # the console and API restart: nginx answers for them
    restarting.mcp.__exit__()
    for method, path in [("GET", "/api/v1/me"), ("POST", "/oauth/token/"),
                         ("POST", "/oauth/register/"), ("POST", "/mcp"),
                         ("GET", "/scim/v2/Users")]:  # fmt: skip
        down = httpx.request(
            method, f"{restarting.url}{path}", headers={"x-api-key": key.plaintext}, timeout=10
        )
        assert down.status_code == 503, path
        assert down.json()["error"] == "temporarily_unavailable", path
        assert down.headers["Retry-After"] == "5"
    page = httpx.get(f"{restarting.url}/accounts/login/", timeout=10)
    assert (page.status_code, "Back in a moment" in page.text) == (503, True)


@needs_nginx
def test_scim_answers_in_scims_shape_through_nginx(deployed, org):
    from scim import tokens

    _token, raw = tokens.create_token(org, "Okta", actor=None)
    for headers, status in [({}, 401), ({"Authorization": f"Bearer {raw}"}, 404)]:
        answer = httpx.get(f"{deployed.url}/scim/v2/Groups", headers=headers, timeout=10)
        assert answer.status_code == status
        assert answer.headers["content-type"] == "application/scim+json"
        assert answer.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    listed = httpx.get(
        f"{deployed.url}/scim/v2/Users", headers={"Authorization": f"Bearer {raw}"}, timeout=10
    )
    assert listed.json()["totalResults"] == 0
