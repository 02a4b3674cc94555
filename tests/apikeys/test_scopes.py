"""Scopes: which surfaces a key may use, read or read-write, and organization
administration for Admins and Owners; never more than the owner's current role allows."""

import pytest

from apikeys import services
from apikeys.models import ApiKey
from organizations import scopes
from organizations import services as org_services
from organizations.models import AuditAction, AuditEvent, Role

from ..calls import mcp, me
from .forms import create

READ_ONLY_API = frozenset({scopes.API_READ})


def test_the_vocabulary():
    assert scopes.build(["api", "mcp"], read_only=False, org_admin=False) == scopes.DEFAULT
    assert scopes.build(["api"], read_only=True, org_admin=False) == READ_ONLY_API
    assert scopes.serialize({scopes.ORG_ADMIN, scopes.API_READ}) == "api:read org:admin"
    assert scopes.parse("api:read nonsense mcp:read") == {scopes.API_READ, scopes.MCP_READ}
    assert scopes.effective("api:read org:admin", "member") == READ_ONLY_API
    assert scopes.effective("api:read org:admin", "admin") == {scopes.API_READ, scopes.ORG_ADMIN}
    assert scopes.describe(READ_ONLY_API) == "Genesis API · read only"
    assert (
        scopes.describe(scopes.DEFAULT | {scopes.ORG_ADMIN})
        == "Genesis API, MCP server · read and write · organization admin"
    )


def test_a_key_made_without_choosing_gets_the_default(member, client_for):
    create(client_for(member))
    assert scopes.parse(ApiKey.objects.get().scopes) == scopes.DEFAULT


def test_the_dialog_makes_a_read_only_api_key(member, client_for):
    response = create(client_for(member), surfaces=["api"], access="read")
    assert response.status_code == 200
    assert "Genesis API · read only" in response.text  # the reveal dialog
    key = ApiKey.objects.get()
    assert key.scopes == "api:read"
    event = AuditEvent.objects.get(action=AuditAction.KEY_CREATED)
    assert event.details["scopes"] == ["api:read"]


def test_no_surface_is_refused_with_a_message(member, client_for):
    response = create(client_for(member), access="read")
    assert response.status_code == 400
    assert "Choose at least one of the Genesis API and the MCP server" in response.text
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize(
    ("role", "gets_admin"), [("owner", True), ("admin", True), ("member", False)]
)
def test_only_admins_and_owners_give_a_key_organization_administration(
    team, client_for, role, gets_admin
):
    client = client_for(team[role])
    assert ("Organization administration" in client.get("/o/acme/api-keys/create/").text) is (
        gets_admin
    )
    create(client, surfaces=["mcp"], access="read_write", org_admin="on")
    assert (scopes.ORG_ADMIN in scopes.parse(ApiKey.objects.get().scopes)) is gets_admin


def test_the_service_refuses_administration_for_a_member(member):
    with pytest.raises(services.PolicyError):
        services.create_key(
            member.user, member.organization, "x", scopes={scopes.API_READ, scopes.ORG_ADMIN}
        )
    assert not ApiKey.objects.exists()


def test_a_demoted_admin_keeps_the_key_but_not_its_administration(admin, owner, make_key):
    key = make_key(admin, scopes=scopes.DEFAULT | {scopes.ORG_ADMIN})
    assert scopes.ORG_ADMIN in services.authenticate(key.plaintext).scopes
    org_services.change_role(admin, Role.MEMBER)
    context = services.authenticate(key.plaintext)
    assert context is not None and scopes.ORG_ADMIN not in context.scopes
    # Rolling it now gives the new key only what the role allows.
    new_key, _ = services.roll_key(ApiKey.objects.get(pk=key.pk), admin.user)
    assert scopes.parse(new_key.scopes) == scopes.DEFAULT


def test_rolling_keeps_the_scopes(member, make_key):
    key = make_key(member, scopes=READ_ONLY_API)
    new_key, _ = services.roll_key(key, member.user)
    assert new_key.scopes == "api:read"


def test_an_api_only_key_is_refused_by_the_mcp_server(server, transactional_db, member, make_key):
    key = make_key(member, scopes=READ_ONLY_API)
    assert me(server.url, key.plaintext).status_code == 200
    refused = mcp(server.url, key.plaintext)
    assert refused.status_code == 403
    assert refused.json()["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    assert "mcp:read" in refused.json()["error_description"]


def test_an_mcp_only_key_is_refused_by_the_api(server, transactional_db, member, make_key):
    key = make_key(member, scopes={scopes.MCP_READ})
    assert mcp(server.url, key.plaintext).status_code == 200
    refused = me(server.url, key.plaintext)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/json")
    assert refused.json() == {
        "error": "insufficient_scope",
        "error_description": "This API key lacks the api:read scope.",
        "scope": "api:read",
    }
    key.refresh_from_db()
    assert key.last_used_surface == "mcp"  # the refused API call was not a use


def test_the_lists_say_what_every_key_may_do(member, admin, client_for, make_key):
    make_key(member, "Read-only CI", scopes=READ_ONLY_API)
    make_key(member, "Everything")
    page = client_for(member).get("/o/acme/api-keys/").text
    assert page.count("Genesis API · read only") == 1
    assert page.count("Genesis API, MCP server · read and write") == 1  # the default too
    section = client_for(admin).get("/o/acme/api-keys/organization/").text
    assert "Genesis API · read only" in section


def test_the_lists_show_what_a_demoted_admins_key_can_do_now(owner, admin, client_for, make_key):
    make_key(admin, "Janitor", scopes=scopes.DEFAULT | {scopes.ORG_ADMIN})
    both = "Genesis API, MCP server · read and write"
    assert f"{both} · organization admin" in client_for(admin).get("/o/acme/api-keys/").text
    org_services.change_role(admin, Role.MEMBER)
    for page in (
        client_for(admin).get("/o/acme/api-keys/").text,
        client_for(owner).get("/o/acme/api-keys/organization/").text,
    ):
        assert "Janitor" in page and both in page
        assert "organization admin" not in page


def test_the_audit_log_says_what_a_new_key_may_do(admin, client_for):
    client_for(admin).post(
        "/o/acme/api-keys/create/",
        {
            "name": "CI",
            "surfaces": ["api"],
            "access": "read",
            "expires": "30",
            "allowed_ips": "203.0.113.0/24",
        },
    )
    log = client_for(admin).get("/o/acme/audit/").text
    assert "Genesis API · read only · expires " in log
    assert "Only from 203.0.113.0/24" in log


def test_the_schema_documents_the_403(db, client):
    spec = client.get("/api/v1/openapi.json").json()
    assert "403" in spec["paths"]["/api/v1/me"]["get"]["responses"]
