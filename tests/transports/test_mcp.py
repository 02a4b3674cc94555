"""The MCP server through the MCP SDK's own client, against the production server
(tests/servers.py), each test from its own client address."""

import asyncio
import importlib.metadata
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx2
import pytest
from django.utils import timezone
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp.types import Implementation

from apikeys import keys
from apikeys.models import ApiKey
from apikeys.shapes import THROTTLED, UNAUTHORIZED
from infra.limits import rate
from mcp_server import edge

from ..asgi import InProcess


async def _session(url, key, action, client_info=None, statuses=None, address=None):
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}

    async def record(response):
        if statuses is not None:
            statuses.append(response.status_code)

    hooks = {"response": [record]}
    transport = httpx2.AsyncHTTPTransport(local_address=address)
    async with httpx2.AsyncClient(
        headers=headers, timeout=10, event_hooks=hooks, transport=transport
    ) as http:
        transport = streamable_http_client(f"{url}/mcp", http_client=http)
        async with Client(transport, client_info=client_info, read_timeout_seconds=10) as client:
            return await action(client)


def with_mcp(server, key, action, client_info=None, statuses=None, address=None):
    """Run a client session to completion, in a thread of its own (with its own event
    loop, whatever runs in this one)."""

    def run():
        session = _session(server.mcp_url, key, action, client_info, statuses, address)
        return asyncio.run(asyncio.wait_for(session, 30))

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result(timeout=60)


async def list_and_call(client):
    tools = await client.list_tools()
    whoami = await client.call_tool("whoami", {})
    mine = await client.call_tool("list_my_api_keys", {})
    return tools, whoami, mine


def test_the_sdk_client_lists_and_calls_both_tools(
    server, transactional_db, member, make_key, address
):
    key = make_key(member, "Claude")
    other = make_key(member, "Cursor")
    tools, whoami, mine = with_mcp(server, key.plaintext, list_and_call, address=address)

    assert {tool.name for tool in tools.tools} == {
        "whoami",
        "list_my_api_keys",
        "delete_my_api_key",
        "get_api_key_usage",
    }
    assert not whoami.is_error
    assert whoami.structured_content | {"key_created_at": None} == {
        "user_name": "Mia Member",
        "user_email": "member@acme.test",
        "organization_name": "Acme",
        "organization_slug": "acme",
        "role": "member",
        "key_name": "Claude",
        "key_hint": key.hint,
        "key_created_at": None,
        "key_expires_at": None,
    }
    listed = mine.structured_content["result"]
    assert {item["hint"] for item in listed} == {key.hint, other.hint}
    assert {item["name"] for item in listed} == {"Claude", "Cursor"}
    text = str(mine.structured_content) + str(whoami.structured_content)
    assert key.plaintext not in text and other.plaintext not in text


def test_tools_see_only_the_callers_keys_in_the_keys_organization(
    server, transactional_db, member, admin, outsider, make_key, address
):
    from organizations.models import Membership

    key = make_key(member, "mine")
    make_key(admin, "the admin's")
    elsewhere = Membership.objects.create(user=member.user, organization=outsider.organization)
    make_key(elsewhere, "other organization")
    _, _, mine = with_mcp(server, key.plaintext, list_and_call, address=address)
    assert [item["name"] for item in mine.structured_content["result"]] == ["mine"]


def test_use_is_recorded_with_the_client_name_and_version(
    server, transactional_db, member, make_key, address
):
    key = make_key(member)
    with_mcp(
        server,
        key.plaintext,
        lambda client: client.list_tools(),
        client_info=Implementation(name="genesis-tests", version="9.9"),
        address=address,
    )
    key.refresh_from_db()
    assert key.last_used_surface == "mcp"
    assert key.last_used_client == "genesis-tests 9.9"
    assert key.last_used_ip == address


TOOLS_LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}


def raw_mcp(http, key=None, **headers):
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    return http.post(
        "/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
        headers={"Accept": "application/json, text/event-stream", **headers},
        timeout=10,
    )


@pytest.mark.parametrize(
    "kind", ["missing", "malformed", "bad checksum", "unknown", "revoked", "basic auth"]
)
def test_every_refusal_is_the_same_401_with_www_authenticate(
    server, transactional_db, member, make_key, kind, mcp_http
):
    key = make_key(member)
    revoked = make_key(member, "revoked")
    ApiKey.objects.filter(pk=revoked.pk).update(revoked_by=member.user, revoked_at=key.created_at)
    # A different last character, whatever the key ends with (1 key in 62 ends with "x").
    broken = key.plaintext[:-1] + ("x" if key.plaintext[-1] != "x" else "y")
    headers = {
        "missing": {},
        "malformed": {"Authorization": "Bearer nope"},
        "bad checksum": {"Authorization": f"Bearer {broken}"},
        "unknown": {"Authorization": f"Bearer {keys.generate()}"},  # well-formed, never issued
        "revoked": {"Authorization": f"Bearer {revoked.plaintext}"},
        "basic auth": {"Authorization": "Basic dXNlcjpwYXNz"},
    }[kind]
    response = raw_mcp(mcp_http, **headers)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_sdk_client_is_refused_with_a_bad_key(server, transactional_db, address):
    for key in (None, "gns_garbage"):
        statuses = []
        with pytest.raises(ExceptionGroup) as refused:
            with_mcp(
                server, key, lambda client: client.list_tools(), statuses=statuses, address=address
            )
        assert refused.group_contains(MCPError, depth=2)
        assert statuses and set(statuses) == {401}


def test_console_changes_apply_on_the_very_next_mcp_request(
    server, transactional_db, client_for, owner, admin, member, make_key, mcp_http
):
    deleted, revoked, removed = (make_key(member, name) for name in ("d", "r", "x"))
    for key in (deleted, revoked, removed):
        assert raw_mcp(mcp_http, key.plaintext).status_code == 200

    client_for(member).post(f"/o/acme/api-keys/{deleted.pk}/delete/")
    assert raw_mcp(mcp_http, deleted.plaintext).status_code == 401
    client_for(admin).post(f"/o/acme/api-keys/{revoked.pk}/revoke/")
    assert raw_mcp(mcp_http, revoked.plaintext).status_code == 401
    client_for(owner).post(f"/o/acme/members/{member.pk}/remove/")
    assert raw_mcp(mcp_http, removed.plaintext).status_code == 401


def test_host_and_origin_are_checked(server, transactional_db, member, make_key, mcp_http):
    key = make_key(member).plaintext
    assert raw_mcp(mcp_http, key, Host="localhost").status_code == 200
    assert raw_mcp(mcp_http, key, Host="evil.example").status_code == 421
    assert raw_mcp(mcp_http, key, Origin="https://evil.example").status_code == 403
    assert raw_mcp(mcp_http, key, Origin="http://localhost:3000").status_code == 200


def test_too_many_failures_get_429_until_the_window_passes(
    transactional_db, member, make_key, throttle_clock
):
    """In this process, where the clock is pinned (the production servers' limits are
    tested in tests/test_client_ip.py)."""
    key = make_key(member).plaintext
    with InProcess() as asgi:

        def call(secret):
            headers = {"Authorization": f"Bearer {secret}", "Accept": "application/json"}
            return asgi.request("POST", "/mcp", json=TOOLS_LIST, headers=headers)

        for _ in range(rate("key_failures").count + 1):
            assert call("gns_wrong").status_code == 401
        blocked = call(key)
        assert blocked.status_code == 429
        assert blocked.json() == THROTTLED
        assert 1 <= int(blocked.headers["Retry-After"]) <= rate("key_failures").seconds
        throttle_clock.set(throttle_clock.now + rate("key_failures").seconds)
        assert call(key).status_code == 200


def rpc(http, key, method, params=None, user_agent="node", request_id=1):
    return http.post(
        "/mcp",
        json={"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or {}},
        headers={
            "Authorization": f"Bearer {key}",
            "Accept": "application/json, text/event-stream",
            "User-Agent": user_agent,
        },
        timeout=10,
    )


def initialize(http, key, name, version, user_agent="node"):
    params = {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": name, "version": version},
    }
    return rpc(http, key, "initialize", params, user_agent)


def test_last_used_names_the_mcp_client_not_its_http_library(
    server, transactional_db, member, make_key, mcp_http
):
    """mcp-remote's shape: a GET probe as `undici`, its own initialize, then the host's;
    later requests carry no clientInfo at all (the TypeScript SDK sends it once)."""
    key = make_key(member)
    probe = mcp_http.get(
        "/mcp",
        headers={
            "Authorization": f"Bearer {key.plaintext}",
            "Accept": "text/event-stream",
            "User-Agent": "undici",
        },
        timeout=10,
    )
    # A stateless server offers no stream: 405 at once, not one held open and silent.
    assert (probe.status_code, probe.headers["Allow"]) == (405, "POST, DELETE")
    assert probe.json()["error"] == "method_not_allowed"
    assert initialize(mcp_http, key.plaintext, "mcp-remote", "0.1.29").status_code == 200
    key.refresh_from_db()
    assert key.last_used_client == "mcp-remote 0.1.29"
    # The host's own initialize, within the same minute, names the real client.
    assert initialize(mcp_http, key.plaintext, "claude-ai", "0.1.0").status_code == 200
    key.refresh_from_db()
    assert key.last_used_client == "claude-ai 0.1.0"

    # A session older than a minute: requests without clientInfo keep the name.
    earlier = key.last_used_at - timedelta(minutes=2)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=earlier)
    assert rpc(mcp_http, key.plaintext, "tools/list", user_agent="node").status_code == 200
    key.refresh_from_db()
    assert key.last_used_at > earlier
    assert key.last_used_client == "claude-ai 0.1.0"


def test_the_client_named_in_a_requests_meta_is_recorded(
    server, transactional_db, member, make_key, mcp_http
):
    key = make_key(member)
    meta = {"io.modelcontextprotocol/clientInfo": {"name": "cursor", "version": "1.7"}}
    params = {"name": "whoami", "arguments": {}, "_meta": meta}
    assert (
        rpc(mcp_http, key.plaintext, "tools/call", params, user_agent="undici").status_code == 200
    )
    key.refresh_from_db()
    assert key.last_used_client == "cursor 1.7"


def test_a_client_name_of_megabytes_is_cut_before_it_is_read(
    server, transactional_db, member, make_key, mcp_http
):
    """The edge keeps a few hundred characters of a name, however long the body holds."""
    key = make_key(member)
    name = "n" * 2_000_000
    assert initialize(mcp_http, key.plaintext, name, "1" * 100_000).status_code == 200
    key.refresh_from_db()
    assert key.last_used_client == "n" * len(key.last_used_client)
    assert len(key.last_used_client) == ApiKey._meta.get_field("last_used_client").max_length
    assert edge.client_of(
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"clientInfo": {"name": name, "version": "v" * 10_000}}}
    ) == f"{'n' * edge.CLIENT_NAME_READ} {'v' * edge.CLIENT_NAME_READ}"  # fmt: skip


def test_a_body_the_client_abandons_is_never_acted_on():
    """A client that goes away mid-body: nothing reads what arrived as a request."""
    messages = iter([
        {"type": "http.request", "body": b'{"jsonrpc": "2.0", ', "more_body": True},
        {"type": "http.disconnect"},
    ])  # fmt: skip

    async def receive():
        return next(messages)

    with pytest.raises(edge.ClientGone):
        asyncio.run(edge.read_body(receive))


def test_a_key_first_used_without_client_info_shows_the_user_agent(
    server, transactional_db, member, make_key, mcp_http
):
    key = make_key(member)
    assert rpc(mcp_http, key.plaintext, "tools/list", user_agent="curl/8.5").status_code == 200
    key.refresh_from_db()
    assert (key.last_used_surface, key.last_used_client) == ("mcp", "curl/8.5")


def test_the_server_says_its_version(server, transactional_db, member, make_key, mcp_http):
    key = make_key(member)
    result = initialize(mcp_http, key.plaintext, "tests", "1").json()["result"]
    assert result["serverInfo"] == {
        "name": "Genesis",
        "version": importlib.metadata.version("genesis-console"),
    }
    assert result["serverInfo"]["version"]


def test_requests_leave_the_servers_log_quiet(
    server, transactional_db, member, make_key, mcp_http, address
):
    key = make_key(member)
    before = len(server.mcp.output_so_far())
    with_mcp(server, key.plaintext, list_and_call, address=address)
    assert rpc(mcp_http, key.plaintext, "tools/list").status_code == 200
    assert server.mcp.output_so_far()[before:] == ""


def test_list_my_api_keys_leaves_out_expired_keys(
    server, transactional_db, member, make_key, address
):
    key = make_key(member, "works")
    expired = make_key(member, "expired", expires_at=timezone.now() + timedelta(days=1))
    ApiKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    _, _, mine = with_mcp(server, key.plaintext, list_and_call, address=address)
    assert [item["name"] for item in mine.structured_content["result"]] == ["works"]


@pytest.mark.parametrize("name", ["x\x00y", "\ud800x", "\u202eevil"])
def test_a_strange_client_name_never_breaks_the_request(
    server, transactional_db, member, make_key, name, mcp_http
):
    key = make_key(member)
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": name, "version": "1"},
            },
        }
    )
    response = mcp_http.post(
        "/mcp",
        content=body.encode("utf-8", "surrogatepass"),
        headers={
            "Authorization": f"Bearer {key.plaintext}",
            "Accept": "application/json, text/event-stream",
            "Content-Type": "application/json",
        },
        timeout=10,
    )
    assert response.status_code < 500
    assert response.headers["content-type"].startswith("application/json")


def test_json_nested_too_deep_is_refused_in_json(server, transactional_db, mcp_http):
    response = mcp_http.post(
        "/mcp",
        content=b"[" * 60_000,
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        timeout=10,
    )
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith("application/json")


def test_the_mcp_path_with_a_slash_is_served_not_redirected(
    server, transactional_db, member, make_key, mcp_http
):
    key = make_key(member).plaintext
    response = mcp_http.post(
        "/mcp/",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
        headers={"Authorization": f"Bearer {key}", "Accept": "application/json"},
        timeout=10,
    )
    assert response.status_code == 200
    assert "location" not in response.headers


def test_the_sdks_own_errors_come_as_json(server, transactional_db, member, make_key, mcp_http):
    key = make_key(member).plaintext
    response = mcp_http.post(
        "/mcp",
        content=b"name=value",
        headers={
            "Authorization": f"Bearer {key}",
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        timeout=10,
    )
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]
