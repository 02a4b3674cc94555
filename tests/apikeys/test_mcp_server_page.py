import json
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from apikeys.models import ApiKey


@pytest.mark.parametrize(
    ("role", "expected"),
    [("owner", 200), ("admin", 200), ("member", 200), ("outsider", 404), ("anonymous", 302)],
)
def test_everyone_in_the_organization_sees_the_page(team, client_for, role, expected):
    who = None if role == "anonymous" else team[role]
    response = client_for(who).get("/o/acme/mcp-server/")
    assert response.status_code == expected


def test_it_shows_the_server_url_and_valid_snippets(member, client_for, make_key, settings):
    settings.ALLOWED_HOSTS = ["console.example.com"]
    key = make_key(member)
    response = client_for(member).get("/o/acme/mcp-server/", HTTP_HOST="console.example.com")
    assert 'value="http://console.example.com/mcp"' in response.text
    for title in ("Claude Code", "Cursor", "VS Code", "mcp-remote"):
        assert title in response.text
    blocks = re.findall(r'<code id="[\w-]+-code">(.*?)</code>', response.text, re.S)
    json_blocks = [b for b in blocks if b.lstrip().startswith("{")]
    assert len(json_blocks) == 3
    for block in json_blocks:
        config = json.loads(block.replace("&quot;", '"').replace("&#x27;", "'"))
        assert "http://console.example.com/mcp" in json.dumps(config)
    assert "YOUR_API_KEY" in response.text
    assert key.plaintext not in response.text
    assert 'curl -H "x-api-key: YOUR_API_KEY" http://console.example.com/api/v1/me' in (
        response.text.replace("&quot;", '"')
    )


def test_the_reveal_dialog_has_a_ready_curl_line_and_links_here(member, client_for):
    response = client_for(member).post("/o/acme/api-keys/create/", {"name": "CI"})
    plaintext = re.search(r"gns_[0-9A-Za-z]{38}", response.text).group(0)
    assert f"curl -H &quot;x-api-key: {plaintext}&quot; http://testserver/api/v1/me" in (
        response.text
    )
    assert 'href="/o/acme/mcp-server/"' in response.text


def test_lists_show_last_use(admin, member, client_for, make_key):
    never = make_key(member, "never used")
    used = make_key(member, "used")
    ApiKey.objects.filter(pk=used.pk).update(
        last_used_at=timezone.now() - timedelta(hours=3),
        last_used_surface="mcp",
        last_used_client="claude-code 2.1",
    )
    response = client_for(admin).get("/o/acme/api-keys/organization/")
    row = response.text.split(f'id="org-key-{used.pk}"')[1].split("</tr>")[0]
    assert "3\xa0hours ago" in row
    assert "via MCP · claude-code 2.1" in row
    assert re.search(r'title="\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(UTC\+00:00\)"', row)
    never_row = response.text.split(f'id="org-key-{never.pk}"')[1].split("</tr>")[0]
    assert "Never" in never_row


def test_the_page_shows_the_management_calls(member, client_for):
    page = client_for(member).get("/o/acme/mcp-server/").text
    assert "Manage keys from a program" in page
    assert "/api/v1/organization/keys/KEY_ID/revoke" in page
    assert "revoke_api_key" in page
    # The same over MCP with the SDK (tests/transports runs this script for real).
    assert "Manage keys over MCP (Python MCP SDK)" in page
    assert "streamable_http_client(&quot;http://testserver/mcp&quot;" in page
    assert "insufficient_scope" in page  # what a read-only key gets for a delete


def test_the_page_says_which_url_is_for_keys_and_which_for_signing_in(member, client_for):
    response = client_for(member).get("/o/acme/mcp-server/")
    assert f'value="{settings.MCP_OAUTH_RESOURCE}"' in response.text
    assert "For apps that sign in" in response.text
    assert "never offers a sign-in" in response.text
