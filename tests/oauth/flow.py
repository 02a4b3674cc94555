"""The OAuth flow as a client runs it, over HTTP against a real server: registration,
the consent page (a signed-in person's browser session, as httpx), the code for tokens,
refresh. Tests drive each step and break the ones they're about."""

import base64
import hashlib
import html
import re
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
from django.conf import settings
from django.test import Client

from tests import sessions

REDIRECT_URI = "http://127.0.0.1:9/callback"  # nothing listens: only the URL is read


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def register(http: httpx.Client, *, name="Test client", redirect_uris=(REDIRECT_URI,)) -> dict:
    response = http.post(
        "/oauth/register/",
        json={
            "client_name": name,
            "redirect_uris": list(redirect_uris),
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def browser_for(server, user, *, minutes_ago=0, session=None) -> httpx.Client:
    """An httpx client with the person's signed-in session, as their browser has it
    (with `session`'s values too)."""
    client = sessions.sign_in(Client(), user, minutes_ago=minutes_ago)
    if session:
        stored = client.session
        stored.update(session)
        stored.save()
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    return httpx.Client(
        base_url=server.url, cookies={settings.SESSION_COOKIE_NAME: cookie}, timeout=10
    )


def authorize_params(client_id, challenge, *, scope="mcp:read mcp:write", **extra) -> dict:
    return {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": "state-123",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "resource": settings.MCP_OAUTH_RESOURCE,
        **extra,
    }


def form_fields(page: str) -> dict:
    """The consent form's hidden fields (the request's parameters and the CSRF token)."""
    fields = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page):
        fields[name] = html.unescape(value)
    return fields


def consent(browser: httpx.Client, params: dict, *, organization, scopes, allow=True):
    """Show the consent page and answer it; returns the POST's response."""
    page = browser.get("/oauth/authorize/", params=params)
    assert page.status_code == 200, page.text
    data = form_fields(page.text)
    data.update(organization=str(organization.pk), scopes=list(scopes))
    if allow:
        data["allow"] = "on"
    return browser.post("/oauth/authorize/", data=data, headers={"Referer": str(page.url)})


def code_from(response) -> str:
    assert response.status_code == 302, response.text
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["state"] == ["state-123"]
    return query["code"][0]


def exchange(http: httpx.Client, client_id, code, verifier, **extra) -> httpx.Response:
    return http.post(
        "/oauth/token/",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": client_id,
            "code_verifier": verifier,
            "resource": settings.MCP_OAUTH_RESOURCE,
            **extra,
        },
    )


def refresh(http: httpx.Client, client_id, refresh_token) -> httpx.Response:
    return http.post(
        "/oauth/token/",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client_id,
        },
    )


def consent_as(server, user, params: dict, *, organization, scopes, allow=True):
    """`consent` in the person's own signed-in browser session."""
    with browser_for(server, user) as browser:
        return consent(browser, params, organization=organization, scopes=scopes, allow=allow)


def code_for(server, http, membership, scopes=("mcp:read",)) -> tuple[str, str, str]:
    """A registered client's code, consented to by the member: (client_id, code, verifier)."""
    client_id = register(http)["client_id"]
    verifier, challenge = pkce()
    response = consent_as(
        server,
        membership.user,
        authorize_params(client_id, challenge, scope=" ".join(scopes)),
        organization=membership.organization,
        scopes=scopes,
    )
    return client_id, code_from(response), verifier


@dataclass
class Granted:
    client_id: str
    access_token: str
    refresh_token: str


def grant(server, http, membership, *, scopes=("mcp:read", "mcp:write")) -> Granted:
    """The whole flow for one member: a registered client with fresh tokens."""
    client_id, code, verifier = code_for(server, http, membership, scopes)
    tokens = exchange(http, client_id, code, verifier)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    return Granted(client_id, body["access_token"], body["refresh_token"])


def mcp_post(http: httpx.Client, token: str | None, method="tools/list", params=None):
    headers = {"Accept": "application/json, text/event-stream"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return http.post(
        settings.MCP_OAUTH_PATH,
        json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}},
        headers={**headers, "MCP-Protocol-Version": "2025-11-25"},
    )
