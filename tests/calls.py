"""Requests a program makes, written once for every test that makes them over HTTP: the
key's `/api/v1/me` and the MCP `tools/list`, each bounded in time."""

import httpx

TOOLS_LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}


def mcp_headers(key: str) -> dict:
    return {"Authorization": f"Bearer {key}", "Accept": "application/json"}


def me(url: str, key: str, timeout: float = 10, **headers) -> httpx.Response:
    return httpx.get(f"{url}/api/v1/me", headers={"x-api-key": key, **headers}, timeout=timeout)


def mcp(url: str, key: str, timeout: float = 10, **headers) -> httpx.Response:
    return httpx.post(
        f"{url}/mcp", json=TOOLS_LIST, headers={**mcp_headers(key), **headers}, timeout=timeout
    )
