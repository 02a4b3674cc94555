"""An MCP client that signs in with OAuth, end to end: the MCP SDK's own OAuth client
discovers the server, registers, sends the person's browser (Chromium, driven by
Playwright) to the consent page, gets its tokens and calls tools. The grant shows up in
the console, and dies there."""

import asyncio
import queue
import threading
from urllib.parse import parse_qs, urlsplit

import httpx2
from django.conf import settings
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata
from playwright.sync_api import expect

from oauth.models import AuthorizedApp
from tests.servers import free_port

CALLBACK = f"http://127.0.0.1:{free_port()}/callback"


class Memory:
    """The client's token storage."""

    def __init__(self):
        self.tokens = self.client_info = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client_info

    async def set_client_info(self, client_info):
        self.client_info = client_info


class OAuthClient:
    """The SDK's OAuth client in a thread of its own (Playwright's sync API owns this
    one's event loop): it hands the authorization URL out and waits for the redirect."""

    def __init__(self, server_url):
        self.server_url = server_url
        self.authorization_urls = queue.Queue()
        self.redirects = queue.Queue()
        self.results = queue.Queue()
        self.storage = Memory()

    async def _redirect(self, url):
        self.authorization_urls.put(url)

    async def _callback(self):
        url = await asyncio.to_thread(self.redirects.get, timeout=60)
        query = parse_qs(urlsplit(url).query)
        return AuthorizationCodeResult(
            code=query["code"][0], state=query["state"][0], iss=query.get("iss", [None])[0]
        )

    async def _session(self, action):
        auth = OAuthClientProvider(
            server_url=self.server_url,
            client_metadata=OAuthClientMetadata(
                client_name="SDK test client",
                redirect_uris=[CALLBACK],
                grant_types=["authorization_code", "refresh_token"],
                response_types=["code"],
                token_endpoint_auth_method="none",
            ),
            storage=self.storage,
            redirect_handler=self._redirect,
            callback_handler=self._callback,
        )
        async with httpx2.AsyncClient(auth=auth, timeout=30) as http:
            transport = streamable_http_client(self.server_url, http_client=http)
            async with Client(transport, read_timeout_seconds=30) as client:
                return await action(client)

    def start(self, action):
        def run():
            try:
                self.results.put(asyncio.run(asyncio.wait_for(self._session(action), 90)))
            except BaseException as error:  # handed to the test, which raises it
                self.results.put(error)

        threading.Thread(target=run, daemon=True).start()

    def result(self):
        outcome = self.results.get(timeout=90)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


async def whoami(client):
    tools = await client.list_tools()
    me = await client.call_tool("whoami", {})
    return [tool.name for tool in tools.tools], me.structured_content


def consent_in_the_browser(page, client, organization_name):
    """Open the URL the client handed out, authorize, and hand the redirect back."""
    url = client.authorization_urls.get(timeout=30)
    page.route(
        f"{CALLBACK}*",
        lambda route: (client.redirects.put(route.request.url), route.fulfill(body="Done"))[1],
    )
    page.goto(url)
    expect(page.get_by_role("heading", name="Authorize SDK test client")).to_be_visible()
    expect(page.get_by_text("127.0.0.1:", exact=False).first).to_be_visible()
    expect(page.get_by_role("radio", name=organization_name)).to_be_checked()
    page.get_by_role("button", name="Authorize", exact=True).click()
    expect(page.get_by_text("Done")).to_be_visible()


def test_a_client_signs_in_with_oauth_and_the_grant_dies_when_revoked(
    one_origin, live, page, member, sign_in
):
    sign_in(member)
    client = OAuthClient(f"{live.url}{settings.MCP_OAUTH_PATH}")
    client.start(whoami)
    consent_in_the_browser(page, client, member.organization.name)
    tools, me = client.result()
    assert "whoami" in tools and "delete_my_api_key" in tools
    assert "list_organization_api_keys" not in tools  # a Member: no organization admin
    assert me["user_email"] == member.user.email

    grant = AuthorizedApp.objects.get()
    assert grant.client_name == "SDK test client" and grant.is_active

    # The grant in the console, with its last use; revoked there.
    page.goto(f"{live.url}/o/{member.organization.slug}/api-keys/")
    apps = page.locator("#my-apps")
    expect(apps.get_by_role("rowheader", name="SDK test client")).to_be_visible()
    expect(apps).to_contain_text("MCP server · read and write")
    expect(apps).to_contain_text("127.0.0.1")
    apps.get_by_role("button", name="Revoke authorized app SDK test client").click()
    dialog = page.get_by_role("dialog", name="Revoke authorized app")
    dialog.get_by_role("button", name="Revoke", exact=True).click()
    expect(page.get_by_text("can no longer use the MCP server")).to_be_visible()
    expect(apps.get_by_role("rowheader", name="SDK test client")).to_have_count(0)

    # The client's stored token no longer works: the next request is refused.
    token = client.storage.tokens.access_token
    response = httpx2.post(
        f"{live.url}{settings.MCP_OAUTH_PATH}",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    assert response.status_code == 401
