"""How to use a key from common tools: the snippets on the MCP server page.

Built here rather than in templates so the JSON is always valid. Snippets hold a
placeholder, never a real key.
"""

import json

from django.utils.translation import gettext as _

PLACEHOLDER = "YOUR_API_KEY"


def _json(value) -> str:
    return json.dumps(value, indent=2)


def mcp_client_snippets(server_url: str) -> list[dict]:
    bearer = f"Bearer {PLACEHOLDER}"
    return [
        {
            "id": "claude-code",
            "title": "Claude Code",
            "where": _("Run in a terminal:"),
            "code": (
                f"claude mcp add --transport http genesis {server_url} "
                f'--header "Authorization: {bearer}"'
            ),
        },
        {
            "id": "cursor",
            "title": "Cursor",
            "where": _("Add to ~/.cursor/mcp.json (or .cursor/mcp.json in a project):"),
            "code": _json(
                {
                    "mcpServers": {
                        "genesis": {"url": server_url, "headers": {"Authorization": bearer}}
                    }
                }
            ),
        },
        {
            "id": "vscode",
            "title": "VS Code",
            "where": _(
                "Add to .vscode/mcp.json. VS Code asks for the key once and keeps it "
                "in its secret storage:"
            ),
            "code": _json(
                {
                    "inputs": [
                        {
                            "type": "promptString",
                            "id": "genesis-api-key",
                            "description": "Genesis API key",
                            "password": True,
                        }
                    ],
                    "servers": {
                        "genesis": {
                            "type": "http",
                            "url": server_url,
                            "headers": {"Authorization": "Bearer ${input:genesis-api-key}"},
                        }
                    },
                }
            ),
        },
        {
            "id": "mcp-remote",
            "title": _("Clients that only speak stdio (mcp-remote)"),
            "where": _(
                "For Claude Desktop and other stdio-only clients, bridge with mcp-remote "
                "(needs Node.js). Add to the client's MCP configuration:"
            ),
            "code": _json(
                {
                    "mcpServers": {
                        "genesis": {
                            "command": "npx",
                            "args": [
                                "-y",
                                "mcp-remote",
                                server_url,
                                "--header",
                                "Authorization:${GENESIS_AUTH}",
                            ],
                            "env": {"GENESIS_AUTH": bearer},
                        }
                    }
                }
            ),
        },
    ]


def curl_me(api_url: str, key: str = PLACEHOLDER) -> str:
    return f'curl -H "x-api-key: {key}" {api_url}me'


def management_calls(api_url: str, key: str = PLACEHOLDER) -> str:
    """Key management from a program: a read-only key lists, an org:admin key revokes."""
    header = f'-H "x-api-key: {key}"'
    return "\n".join(
        [
            "# Your keys (any key with api:read, a read-only one too)",
            f"curl {header} {api_url}keys",
            "# Delete one of yours (needs api:write: a read-only key gets",
            '# 403 {"error": "insufficient_scope", ..., "scope": "api:write"})',
            f"curl -X DELETE {header} {api_url}keys/KEY_ID",
            "# The organization's keys, and revoking one (needs org:admin)",
            f'curl {header} "{api_url}organization/keys?member=mia&limit=20"',
            f"curl -X POST {header} {api_url}organization/keys/KEY_ID/revoke",
        ]
    )


def mcp_management_script(server_url: str) -> str:
    """The same over MCP, with the Python MCP SDK (version 2): an Admin's key with
    org:admin revokes a member's keys. The README shows this script too (a test runs it
    against a real server)."""
    return f"""import asyncio, os
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client


async def revoke_keys_of(member: str):
    headers = {{"Authorization": f"Bearer {{os.environ['GENESIS_API_KEY']}}"}}
    async with httpx2.AsyncClient(headers=headers) as http:
        async with Client(
            streamable_http_client("{server_url}", http_client=http)
        ) as mcp:
            found = await mcp.call_tool("list_organization_api_keys", {{"member": member}})
            for key in found.structured_content["items"]:
                print("revoking", key["name"], key["hint"], "of", key["created_by"]["name"])
                await mcp.call_tool("revoke_api_key", {{"key_id": key["id"]}})


asyncio.run(revoke_keys_of("mia"))
"""
