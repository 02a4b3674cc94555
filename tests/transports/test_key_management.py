"""Key management over the API and the MCP server: every endpoint and tool for every
kind of key (allowed, or refused with the scope it needs), through the same services and
audit as the console, against a real server."""

import httpx
import pytest
from django.test import Client
from post_office.models import Email

from apikeys.models import ApiKey
from organizations import scopes
from organizations import services as org_services
from organizations.models import AuditAction, AuditEvent, Role

from ..factories import ApiKeyFactory, MembershipFactory
from .test_mcp import with_mcp

ADMIN_SCOPES = scopes.DEFAULT | {scopes.ORG_ADMIN}
KINDS = {
    "default": scopes.DEFAULT,
    "api_read_only": frozenset({scopes.API_READ}),
    "mcp_only": frozenset({scopes.MCP_READ, scopes.MCP_WRITE}),
    "admin": ADMIN_SCOPES,
}


def api(server, key, method, path, **kwargs):
    return httpx.request(
        method, f"{server.url}/api/v1{path}", headers={"x-api-key": key}, timeout=10, **kwargs
    )


@pytest.fixture
def keys(team):
    """One key of each kind, all the Admin's (an Admin may hold org:admin)."""
    admin = team["admin"]
    return {
        kind: ApiKeyFactory(membership=admin, scopes=granted) for kind, granted in KINDS.items()
    }


# (method, path, what a key needs beyond being valid)
ENDPOINTS = [
    ("GET", "/keys", {scopes.API_READ}),
    ("GET", "/organization/keys", {scopes.API_READ, scopes.ORG_ADMIN}),
]


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize(("method", "path", "needs"), ENDPOINTS)
def test_every_read_endpoint_for_every_kind_of_key(
    server, transactional_db, keys, kind, method, path, needs
):
    response = api(server, keys[kind].plaintext, method, path)
    missing = sorted(set(needs) - KINDS[kind])
    if not missing:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert response.json()["error"] == "insufficient_scope"
        assert response.json()["scope"] == missing[0]


@pytest.mark.parametrize("kind", list(KINDS))
def test_deleting_needs_api_write(server, transactional_db, keys, kind):
    victim = keys[kind]
    response = api(server, victim.plaintext, "DELETE", f"/keys/{victim.pk}")
    allowed = scopes.API_WRITE in KINDS[kind]
    assert response.status_code == (204 if allowed else 403)
    victim.refresh_from_db()
    assert (victim.revoked_at is not None) is allowed


@pytest.mark.parametrize("kind", list(KINDS))
def test_revoking_needs_api_write_and_org_admin(server, transactional_db, keys, team, kind):
    target = ApiKeyFactory(membership=team["member"])
    response = api(server, keys[kind].plaintext, "POST", f"/organization/keys/{target.pk}/revoke")
    allowed = {scopes.API_WRITE, scopes.ORG_ADMIN} <= KINDS[kind]
    assert response.status_code == (204 if allowed else 403)
    target.refresh_from_db()
    assert (target.revoked_at is not None) is allowed


def test_my_keys_are_mine_only_and_never_carry_a_secret(server, transactional_db, team, keys):
    ApiKeyFactory(membership=team["member"], name="Not the admin's")
    listed = api(server, keys["default"].plaintext, "GET", "/keys").json()
    assert {item["id"] for item in listed} == {key.pk for key in keys.values()}
    for item in listed:
        assert set(item) == {
            "id", "name", "hint", "scopes", "allowed_ips", "created_at", "expires_at",
            "last_used_at", "last_used_surface", "last_used_client",
        }  # fmt: skip
    text = str(listed)
    for key in keys.values():
        assert key.plaintext not in text and key.digest not in text


def test_deleting_someone_elses_key_is_404_and_logged_deletes_are_the_consoles(
    server, transactional_db, team, keys
):
    theirs = ApiKeyFactory(membership=team["member"])
    own = keys["default"]
    assert api(server, own.plaintext, "DELETE", f"/keys/{theirs.pk}").status_code == 404
    assert api(server, own.plaintext, "DELETE", f"/keys/{keys['admin'].pk}").status_code == 204
    event = AuditEvent.objects.get(action=AuditAction.KEY_DELETED)
    assert event.actor == team["admin"].user
    assert api(server, keys["admin"].plaintext, "GET", "/keys").status_code == 401  # gone


def test_the_organization_list_filters_pages_and_names_creators(
    server, transactional_db, team, keys
):
    ApiKeyFactory(membership=team["member"], name="Mia's deploy")
    admin_key = keys["admin"].plaintext
    everything = api(server, admin_key, "GET", "/organization/keys").json()
    assert everything["count"] == 5
    mia = api(server, admin_key, "GET", "/organization/keys", params={"member": "mia"}).json()
    assert [item["name"] for item in mia["items"]] == ["Mia's deploy"]
    mine = {"name": "Mia Member", "email": "member@acme.test"}
    assert mia["items"][0]["created_by"] == {**mine, "service_account": False}
    assert mia["items"][0]["made_by"] == mine
    page = api(server, admin_key, "GET", "/organization/keys", params={"limit": 2, "offset": 4})
    assert page.json()["count"] == 5 and len(page.json()["items"]) == 1
    # A NUL is in no name or address (and PostgreSQL refuses one in a query): no match.
    for nul in ({"member": "mia\x00"}, {"name": "\x00"}):
        empty = api(server, admin_key, "GET", "/organization/keys", params=nul)
        assert (empty.status_code, empty.json()) == (200, {"count": 0, "items": []}), nul
    bad = api(server, admin_key, "GET", "/organization/keys", params={"limit": 1000})
    assert 400 <= bad.status_code < 500 and bad.headers["content-type"].startswith(
        "application/json"
    )


def test_revoking_through_the_api_is_the_consoles_revoke(server, transactional_db, team, keys):
    target = ApiKeyFactory(membership=team["member"], name="Leaked")
    admin_key = keys["admin"].plaintext
    path = f"/organization/keys/{target.pk}/revoke"
    assert api(server, admin_key, "POST", path).status_code == 204
    assert api(server, target.plaintext, "GET", "/me").status_code == 401
    event = AuditEvent.objects.get(action=AuditAction.KEY_REVOKED)
    assert event.actor == team["admin"].user and event.target_user == team["member"].user
    # Queued in the request, as every notice is (post_office), for `send_queued_mail`.
    assert [email.to for email in Email.objects.all()] == [["member@acme.test"]]
    assert api(server, admin_key, "POST", path).status_code == 404  # already revoked
    outsider = ApiKeyFactory(membership=team["outsider"])
    outside_path = f"/organization/keys/{outsider.pk}/revoke"
    assert api(server, admin_key, "POST", outside_path).status_code == 404


def test_a_demoted_admins_key_loses_organization_administration_at_once(
    server, transactional_db, team, keys
):
    admin_key = keys["admin"].plaintext
    assert api(server, admin_key, "GET", "/organization/keys").status_code == 200
    org_services.change_role(team["admin"], Role.MEMBER)
    refused = api(server, admin_key, "GET", "/organization/keys")
    assert refused.status_code == 403 and refused.json()["scope"] == scopes.ORG_ADMIN
    assert api(server, admin_key, "GET", "/keys").status_code == 200  # the key still works


def test_list_queries_do_not_grow_with_the_list(team, keys):
    client = Client()
    headers = {"HTTP_X_API_KEY": keys["admin"].plaintext}

    def count_queries():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/v1/organization/keys", **headers).status_code == 200
            assert client.get("/api/v1/keys", **headers).status_code == 200
        return len(captured)

    count_queries()  # the first use of the key writes its last use
    few = count_queries()
    for membership in MembershipFactory.create_batch(5, organization=team["owner"].organization):
        ApiKeyFactory.create_batch(3, membership=membership)
    ApiKeyFactory.create_batch(5, membership=team["admin"])
    assert count_queries() == few


# MCP ------------------------------------------------------------------------------------

TOOLS = ("whoami", "list_my_api_keys", "delete_my_api_key", "list_organization_api_keys",
         "revoke_api_key", "get_api_key_usage")  # fmt: skip
READ_ONLY_TOOLS = ("whoami", "list_my_api_keys", "list_organization_api_keys",
                   "get_api_key_usage")  # fmt: skip


async def list_tools(client):
    return {tool.name: tool for tool in (await client.list_tools()).tools}


@pytest.mark.parametrize(
    ("kind", "listed"),
    [
        ("default", {"whoami", "list_my_api_keys", "delete_my_api_key", "get_api_key_usage"}),
        ("admin", set(TOOLS)),
        ("read_only_mcp", {"whoami", "list_my_api_keys", "get_api_key_usage"}),
    ],
)
def test_only_the_tools_a_key_may_call_are_listed(server, transactional_db, team, kind, listed):
    granted = KINDS.get(kind, frozenset({scopes.MCP_READ}))
    key = ApiKeyFactory(membership=team["admin"], scopes=granted)
    tools = with_mcp(server, key.plaintext, list_tools)
    assert set(tools) == listed
    for name, tool in tools.items():
        read_only = name in READ_ONLY_TOOLS
        assert tool.annotations.read_only_hint is read_only
        assert tool.annotations.destructive_hint is (not read_only)


def call(server, key, tool, arguments):
    headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
               "params": {"name": tool, "arguments": arguments}}  # fmt: skip
    return httpx.post(f"{server.mcp_url}/mcp", json=message, headers=headers, timeout=10)


@pytest.mark.parametrize(
    ("granted", "tool", "needed"),
    [
        ({scopes.MCP_READ}, "delete_my_api_key", "mcp:write"),
        (scopes.DEFAULT, "list_organization_api_keys", "org:admin"),
        ({scopes.MCP_READ, scopes.ORG_ADMIN}, "revoke_api_key", "mcp:write"),
    ],
)
def test_calling_a_tool_the_key_may_not_is_403_insufficient_scope(
    server, transactional_db, team, granted, tool, needed
):
    key = ApiKeyFactory(membership=team["admin"], scopes=granted)
    target = ApiKeyFactory(membership=team["member"])
    response = call(server, key.plaintext, tool, {"key_id": target.pk} if "key" in tool else {})
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    assert f'scope="{needed}' in response.headers["www-authenticate"]
    target.refresh_from_db()
    assert target.revoked_at is None
    # Escaped JSON spells the same method: still refused.
    escaped = call(server, key.plaintext, tool, {}).request.content.replace(
        b"tools/call", b"tools\\/call"
    )
    again = httpx.post(f"{server.mcp_url}/mcp", content=escaped, timeout=10, headers={
        "Authorization": f"Bearer {key.plaintext}", "Accept": "application/json",
        "Content-Type": "application/json"})  # fmt: skip
    assert again.status_code == 403


def test_an_admin_key_lists_and_revokes_the_organizations_keys_over_mcp(
    server, transactional_db, team
):
    key = ApiKeyFactory(membership=team["admin"], scopes=ADMIN_SCOPES)
    target = ApiKeyFactory(membership=team["member"], name="Leaked")

    async def manage(client):
        listed = await client.call_tool("list_organization_api_keys", {"member": "mia"})
        revoked = await client.call_tool("revoke_api_key", {"key_id": target.pk})
        again = await client.call_tool("revoke_api_key", {"key_id": target.pk})
        return listed, revoked, again

    listed, revoked, again = with_mcp(server, key.plaintext, manage)
    assert [item["name"] for item in listed.structured_content["items"]] == ["Leaked"]
    assert not revoked.is_error and again.is_error
    target.refresh_from_db()
    assert target.revoked_at is not None and target.revoked_by == team["admin"].user
    assert AuditEvent.objects.filter(action=AuditAction.KEY_REVOKED).count() == 1


def test_deleting_your_own_key_over_mcp(server, transactional_db, team):
    key = ApiKeyFactory(membership=team["member"])
    other = ApiKeyFactory(membership=team["member"], name="Old laptop")

    async def delete(client):
        return await client.call_tool("delete_my_api_key", {"key_id": other.pk})

    result = with_mcp(server, key.plaintext, delete)
    assert not result.is_error
    assert ApiKey.objects.get(pk=other.pk).revoked_at is not None


TOOL_KINDS = {**KINDS, "mcp_read_only": frozenset({scopes.MCP_READ})}


@pytest.mark.parametrize("kind", list(TOOL_KINDS))
@pytest.mark.parametrize("tool", TOOLS)
def test_every_tool_for_every_kind_of_key(server, transactional_db, team, kind, tool):
    granted = TOOL_KINDS[kind]
    key = ApiKeyFactory(membership=team["admin"], scopes=granted)
    target = ApiKeyFactory(
        membership=team["admin"]
        if tool in ("delete_my_api_key", "get_api_key_usage")
        else team["member"]
    )
    response = call(
        server, key.plaintext, tool, {"key_id": target.pk} if "key_id" in _args(tool) else {}
    )
    needs = {
        "whoami": {scopes.MCP_READ},
        "get_api_key_usage": {scopes.MCP_READ},
        "list_my_api_keys": {scopes.MCP_READ},
        "delete_my_api_key": {scopes.MCP_READ, scopes.MCP_WRITE},
        "list_organization_api_keys": {scopes.MCP_READ, scopes.ORG_ADMIN},
        "revoke_api_key": {scopes.MCP_READ, scopes.MCP_WRITE, scopes.ORG_ADMIN},
    }[tool]
    if needs <= granted:
        assert response.status_code == 200
        assert not response.json()["result"].get("isError")
    else:
        assert response.status_code == 403
        assert response.json()["error"] == "insufficient_scope"
    target.refresh_from_db()
    changed = target.revoked_at is not None
    assert changed is (needs <= granted and tool in ("delete_my_api_key", "revoke_api_key"))


def _args(tool):
    with_key_id = ("delete_my_api_key", "revoke_api_key", "get_api_key_usage")
    return {"key_id"} if tool in with_key_id else set()


def test_lists_show_what_a_demoted_admins_key_can_do_now(server, transactional_db, team, keys):
    owner_key = ApiKeyFactory(membership=team["owner"], scopes=ADMIN_SCOPES).plaintext
    org_services.change_role(team["admin"], Role.MEMBER)
    mine = api(server, keys["admin"].plaintext, "GET", "/keys").json()
    assert all("org:admin" not in item["scopes"] for item in mine)
    listed = api(server, owner_key, "GET", "/organization/keys").json()["items"]
    by_id = {item["id"]: item for item in listed}
    assert "org:admin" not in by_id[keys["admin"].pk]["scopes"]
    owners = [item for item in listed if item["created_by"]["email"] == "owner@acme.test"]
    assert "org:admin" in owners[0]["scopes"]


@pytest.mark.parametrize("offset", [10**6 + 1, 2**63, 10**23])
def test_a_huge_offset_is_a_clear_4xx(server, transactional_db, keys, offset):
    response = api(
        server, keys["admin"].plaintext, "GET", "/organization/keys", params={"offset": offset}
    )
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith("application/json")


def test_the_documented_mcp_script_revokes_a_members_keys(
    server, transactional_db, admin, member, make_key
):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from apikeys import clients
    from apikeys.models import RevokeReason

    admin_key = make_key(admin, "Janitor", scopes=ADMIN_SCOPES)
    mias = make_key(member, "Mia's deploy")
    script = clients.mcp_management_script(f"{server.mcp_url}/mcp")
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert script.replace(server.mcp_url, "http://127.0.0.1:8000") in readme  # the same script
    ran = subprocess.run(  # noqa: S603 (our own script, run by this interpreter)
        [sys.executable, "-c", script],
        env={**os.environ, "GENESIS_API_KEY": admin_key.plaintext},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    assert f"revoking Mia's deploy {mias.hint} of Mia Member" in ran.stdout
    mias.refresh_from_db()
    assert mias.revoke_reason == RevokeReason.REVOKED and mias.revoked_by == admin.user
