"""genesis.mcp_exchange answers exactly as the MCP SDK's own stateless path would.

The same requests go to two MCP apps, one with the single exchange and one without, and
must get the same status, content type and JSON; the hot requests must actually have
taken the single exchange (otherwise this would compare the SDK with itself).
"""

import json
from unittest import mock

import pytest

from apikeys import services
from genesis import mcp_exchange, mcp_gate
from genesis.mcp import build_mcp_app
from genesis.mcp_wsgi import McpThread

JSON = "application/json"
BOTH = "application/json, text/event-stream"


def call(method, params=None, id=1):
    message = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        message["params"] = params
    return json.dumps(message).encode()


WHOAMI = call("tools/call", {"name": "whoami", "arguments": {}})

# (name, headers beyond the key, body, whether the single exchange answers it)
REQUESTS = [
    ("whoami, no version header", {}, WHOAMI, True),
    ("whoami at 2025-06-18", {"mcp-protocol-version": "2025-06-18"}, WHOAMI, True),
    ("whoami, JSON-only Accept", {"accept": JSON}, WHOAMI, True),
    ("whoami, charset", {"content-type": "application/json; charset=utf-8"}, WHOAMI, True),
    ("whoami, string id", {}, call("tools/call", {"name": "whoami"}, id="a-1"), True),
    (
        "whoami with a progress token",
        {},
        call("tools/call", {"name": "whoami", "arguments": {}, "_meta": {"progressToken": 7}}),
        True,
    ),
    ("list_my_api_keys", {}, call("tools/call", {"name": "list_my_api_keys"}), True),
    ("tools/list", {}, call("tools/list"), True),
    ("ping", {}, call("ping"), True),
    ("unknown tool", {}, call("tools/call", {"name": "nope", "arguments": {}}), True),
    ("arguments not an object", {}, call("tools/call", {"name": "whoami", "arguments": 3}), True),
    ("tools/call without params", {}, call("tools/call"), True),
    ("unknown method", {}, call("frobnicate/now", {}), True),
    ("resources/list (no handler)", {}, call("resources/list"), True),
    (
        "initialize",
        {},
        call(
            "initialize",
            {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        ),
        False,
    ),
    ("notification", {}, b'{"jsonrpc":"2.0","method":"notifications/initialized"}', False),
    ("batch", {}, b"[" + WHOAMI + b"," + WHOAMI + b"]", False),
    ("not JSON", {}, b"{nope", False),
    ("a response, not a request", {}, b'{"jsonrpc":"2.0","id":1,"result":{}}', False),
    ("no JSON in Accept", {"accept": "text/event-stream"}, WHOAMI, False),
    ("text/plain body", {"content-type": "text/plain"}, WHOAMI, False),
    ("unsupported version", {"mcp-protocol-version": "1999-01-01"}, WHOAMI, False),
    ("foreign Origin", {"origin": "https://evil.example"}, WHOAMI, False),
]


@pytest.fixture(scope="module")
def apps():
    return {"sdk": McpThread(build_mcp_app(single_exchange=False)), "ours": McpThread()}


def scope_for(key_context, headers: dict) -> dict:
    base = {"accept": BOTH, "content-type": JSON, "host": "127.0.0.1:8000"}
    base.update(headers)
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/mcp",
        "raw_path": b"/mcp",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"authorization", b"Bearer key-checked-by-the-gate"),
            *((name.encode(), value.encode()) for name, value in base.items()),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        mcp_gate.ADMISSION: mcp_gate.Admission("127.0.0.1", context=key_context),
    }


def answer(thread, scope, body):
    status, headers, content = thread.serve(dict(scope), body)
    headers = {name.decode().lower(): value.decode() for name, value in headers}
    return status, headers.get("content-type"), json.loads(content) if content else None


@pytest.mark.parametrize(("name", "headers", "body", "exchanged"), REQUESTS, ids=lambda v: v)
def test_the_single_exchange_answers_as_the_sdk_does(
    apps, transactional_db, member, make_key, name, headers, body, exchanged
):
    make_key(member, "Second")
    context = services.authenticate(make_key(member, "Claude").plaintext)
    scope = scope_for(context, headers)

    expected = answer(apps["sdk"], scope, body)
    with mock.patch.object(mcp_exchange, "serve_one", wraps=mcp_exchange.serve_one) as kernel:
        ours = answer(apps["ours"], scope, body)

    assert ours == expected
    assert kernel.called is exchanged


def test_a_failing_tool_is_answered_as_the_sdk_answers_it(
    apps, transactional_db, member, make_key, monkeypatch
):
    """A handler's exception (not a tool error: the kernel itself fails) is mapped as
    the SDK's dispatcher maps it."""
    context = services.authenticate(make_key(member).plaintext)
    scope = scope_for(context, {})

    async def broken(*args, **kwargs):
        raise RuntimeError("kernel broke")

    expected_calls = []
    for app in ("sdk", "ours"):
        server_module = "mcp.server.runner.ServerRunner._on_request"
        with mock.patch(server_module, broken):
            expected_calls.append(answer(apps[app], scope, WHOAMI))
    assert expected_calls[0] == expected_calls[1]
    assert expected_calls[1][0] == 200
    assert expected_calls[1][2]["error"]["message"] == "kernel broke"
