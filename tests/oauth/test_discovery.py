"""What an MCP client finds before it signs in: metadata at the OAuth path's well-known
URLs (RFC 9728, RFC 8414 path forms), the 401 that points there, and nothing at all for
the key path, so a client configured with a key header is never offered OAuth."""

import pytest
from django.conf import settings

from tests.oauth import flow

PRM = "/.well-known/oauth-protected-resource/mcp/oauth"
AS_METADATA = "/.well-known/oauth-authorization-server/oauth"


def test_the_mcp_servers_oauth_path_publishes_its_resource_metadata(http):
    response = http.get(PRM)
    assert response.status_code == 200
    body = response.json()
    assert body["resource"] == settings.MCP_OAUTH_RESOURCE
    assert body["authorization_servers"] == [settings.OAUTH_ISSUER]
    assert {"mcp:read", "mcp:write", "org:admin"} <= set(body["scopes_supported"])
    assert body["bearer_methods_supported"] == ["header"]


def test_the_authorization_server_metadata_offers_only_what_it_accepts(http):
    response = http.get(AS_METADATA)
    assert response.status_code == 200
    body = response.json()
    issuer = settings.OAUTH_ISSUER
    assert body["issuer"] == issuer
    assert body["authorization_endpoint"] == f"{issuer}/authorize/"
    assert body["token_endpoint"] == f"{issuer}/token/"
    assert body["registration_endpoint"] == f"{issuer}/register/"
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert body["response_types_supported"] == ["code"]
    assert set(body["grant_types_supported"]) == {"authorization_code", "refresh_token"}
    assert "none" in body["token_endpoint_auth_methods_supported"]
    assert body["client_id_metadata_document_supported"] is True
    assert body["authorization_response_iss_parameter_supported"] is True


@pytest.mark.parametrize(
    "path",
    [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-authorization-server",
        "/.well-known/oauth-authorization-server/mcp",
        "/.well-known/openid-configuration",
        "/.well-known/openid-configuration/mcp",
        "/mcp/.well-known/openid-configuration",
    ],
)
def test_nothing_advertises_oauth_for_the_key_path(http, path):
    response = http.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert settings.MCP_OAUTH_PATH in response.json()["error_description"]


def test_the_oauth_paths_401_says_where_to_sign_in(http):
    """The MCP SDK's own 401 (its RequireAuthMiddleware): the metadata it points to lists
    the scopes a client may ask for."""
    response = flow.mcp_post(http, None)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert f'resource_metadata="{settings.PUBLIC_URL}{PRM}"' in challenge
    metadata = http.get(PRM).json()
    assert {"mcp:read", "mcp:write"} <= set(metadata["scopes_supported"])

    refused = flow.mcp_post(http, "not-a-token")
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    assert "resource_metadata=" in refused.headers["www-authenticate"]


def test_the_key_paths_401_advertises_no_oauth(http):
    response = http.post(
        settings.MCP_PATH,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
        headers={"Accept": "application/json, text/event-stream"},
    )
    assert response.status_code == 401
    assert "resource_metadata" not in response.headers.get("www-authenticate", "")


@pytest.mark.parametrize(
    "method, path, status",
    [
        ("GET", "/oauth/token/", 405),
        ("GET", "/oauth/register/", 405),
        ("GET", "/oauth/nowhere/", 404),
        ("POST", "/oauth/token/", 400),
        ("POST", "/oauth/revoke/", 400),
        ("GET", "/mcp/oauth", 405),
    ],
)
def test_the_authorization_servers_endpoints_answer_json(http, method, path, status):
    response = http.request(method, path)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    assert "error" in response.json()
