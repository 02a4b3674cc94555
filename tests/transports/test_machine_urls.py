"""Machine-facing URLs answer JSON, never HTML: unknown API paths, wrong methods, the OAuth
discovery probes MCP clients send before connecting, and errors."""

import httpx
import pytest

from infra.machine import NO_OAUTH

# What the Inspector CLI, mcp-remote and fastmcp probe before they connect.
DISCOVERY_PROBES = [
    ("GET", "/.well-known/oauth-protected-resource/mcp"),
    ("GET", "/.well-known/oauth-protected-resource"),
    ("GET", "/.well-known/oauth-authorization-server/mcp"),
    ("GET", "/.well-known/oauth-authorization-server"),
    ("GET", "/.well-known/openid-configuration/mcp"),
    ("GET", "/.well-known/openid-configuration"),
    ("GET", "/mcp/.well-known/openid-configuration"),
    ("POST", "/register"),
]


@pytest.mark.parametrize(("method", "path"), DISCOVERY_PROBES)
def test_discovery_probes_are_told_how_to_connect_in_json(http, method, path):
    response = http.request(method, path, json={"redirect_uris": ["http://127.0.0.1:1/cb"]})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == NO_OAUTH
    assert "Authorization: Bearer" in response.json()["error_description"]


@pytest.mark.parametrize(("method", "path"), DISCOVERY_PROBES)
def test_discovery_probes_get_json_with_debug_on_too(client, db, settings, method, path):
    settings.DEBUG = True  # Django's own 404 page is HTML, and shows the URLconf
    response = client.generic(method, path)
    assert response.status_code == 404
    assert response.json() == NO_OAUTH


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/nope", 404),
        ("GET", "/api/v1/me/", 404),
        ("GET", "/api/v2/me", 404),
        ("POST", "/api/v1/me", 405),
        ("DELETE", "/api/v1/health", 405),
        ("GET", "/mcp/anything", 404),
    ],
)
def test_wrong_paths_and_methods_answer_json(http, method, path, status):
    response = http.request(method, path)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]
    if status == 405:
        assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize(
    "path", ["/oauth/token", "/oauth/revoke", "/oauth/register", "/oauth/register/abc"]
)
def test_oauth_endpoints_without_their_slash_answer_json_not_a_redirect(http, path):
    """Not Django's APPEND_SLASH: an HTML 301 for programs (a 500 with DEBUG on, for a
    POST)."""
    for method in ("GET", "POST"):
        response = http.request(method, path, follow_redirects=False)
        assert 400 <= response.status_code < 500, (method, response.status_code)
        assert response.headers["content-type"].startswith("application/json")


def test_a_bad_host_on_the_api_gets_json_and_the_console_a_page(client, db):
    api = client.get("/api/v1/health", HTTP_HOST="evil.example")
    assert api.status_code == 400
    assert api.json()["error"] == "bad_request"
    page = client.get("/accounts/login/", HTTP_HOST="evil.example")
    assert page.status_code == 400
    assert "text/html" in page["Content-Type"]


def test_the_console_keeps_its_html_404(client, db):
    response = client.get("/nowhere/")
    assert response.status_code == 404
    assert "text/html" in response["Content-Type"]


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", ["//api/v1/health", "//mcp/.well-known/openid-configuration"])
def test_a_doubled_slash_still_gets_json(server, transactional_db, settings, debug, path):
    settings.DEBUG = debug  # Django's own 404 page lists the URL patterns
    response = httpx.get(server.url + path, timeout=10)  # as sent: no URL joining
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
