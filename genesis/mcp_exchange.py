"""One MCP request answered as one exchange, through the SDK's own single-exchange kernel.

Our MCP server is stateless with JSON responses: every POST carries one JSON-RPC request
and gets its answer in the response body. For clients on the handshake-era protocol
versions (every client today), the SDK still serves each such POST the way it serves a
session: a transport, memory streams, a JSON-RPC dispatcher and a task on the session
manager's task group are built and torn down around the request (about 1.1 ms of a
1.3 ms request; docs/performance.md). For protocol 2026-07-28 the SDK answers a POST with
`serve_one`, its kernel for one request in, one answer out, in a third of that.

This hands `serve_one` the handshake-era requests that need nothing but that kernel, the
way the SDK's stateless path sets it up (a born-ready connection at the request's
protocol version, no back channel, notifications dropped as JSON mode drops them), and
writes the answer as that path does. Everything else (initialize, notifications,
batches, bad headers or bodies, anything unusual) goes to the SDK's own path unchanged.
tests/transports/test_mcp_exchange.py holds both paths to the same answers.
"""

import pydantic_core
from mcp.server._streamable_http_modern import _SingleExchangeDispatchContext
from mcp.server.connection import Connection
from mcp.server.runner import serve_one
from mcp.server.streamable_http import CONTENT_TYPE_JSON, check_accept_headers
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecurityMiddleware
from mcp.shared.jsonrpc_dispatcher import handler_exception_to_error_data, logger
from mcp.shared.message import ServerMessageMetadata
from mcp.shared.transport_context import TransportContext
from mcp_types import (
    DEFAULT_NEGOTIATED_VERSION,
    ErrorData,
    JSONRPCError,
    JSONRPCRequest,
    JSONRPCResponse,
)
from mcp_types.jsonrpc import jsonrpc_message_adapter
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from genesis import mcp_gate


def install(manager: StreamableHTTPSessionManager) -> None:
    """Offer the manager's stateless handshake-era requests to the single exchange first."""
    if not (manager.stateless and manager.json_response):
        raise ValueError("a single exchange answers only stateless JSON-response servers")
    manager._handle_stateless_request = _SingleExchange(manager, manager._handle_stateless_request)


class _SingleExchange:
    """The manager's stateless entry: the kernel for plain requests, else the SDK's path."""

    def __init__(self, manager: StreamableHTTPSessionManager, sdk_path):
        self.manager = manager
        self.sdk_path = sdk_path
        self.security = TransportSecurityMiddleware(manager.security_settings)

    async def __call__(self, protocol_version: str | None, scope, receive, send) -> None:
        body, receive = (
            await mcp_gate.peek_body(receive) if scope["method"] == "POST" else (b"", receive)
        )
        request = Request(scope, receive)
        message = await self._plain_request(request, body)
        if message is None:
            return await self.sdk_path(protocol_version, scope, receive, send)
        answer = await self._answer(message, request, protocol_version)
        await Response(
            answer.model_dump_json(by_alias=True, exclude_unset=True),
            headers={"Content-Type": CONTENT_TYPE_JSON},
        )(scope, receive, send)

    async def _plain_request(self, request: Request, body: bytes) -> JSONRPCRequest | None:
        """The request, if it is one the kernel alone answers; None for the SDK's path
        (which also gives every refusal its answer)."""
        if request.method != "POST":
            return None
        if await self.security.validate_request(request, is_post=True) is not None:
            return None
        if not check_accept_headers(request)[0]:
            return None
        media_type = request.headers.get("content-type", "").split(";")[0]
        if CONTENT_TYPE_JSON not in (part.strip() for part in media_type.split(",")):
            return None
        try:
            message = jsonrpc_message_adapter.validate_python(
                pydantic_core.from_json(body), by_name=False
            )
        except (ValueError, ValidationError):
            return None
        if not isinstance(message, JSONRPCRequest) or message.method == "initialize":
            return None
        return message

    async def _answer(self, message: JSONRPCRequest, request: Request, protocol_version):
        connection = Connection.from_envelope(
            protocol_version or DEFAULT_NEGOTIATED_VERSION, None, None
        )
        # The SDK's context for one HTTP request: no back channel for server requests, and
        # without a sink notifications have no wire, as a JSON body carries only the answer.
        exchange = _SingleExchangeDispatchContext(
            transport=TransportContext(kind="streamable-http", can_send_request=False),
            request_id=message.id,
            message_metadata=ServerMessageMetadata(request_context=request),
        )
        try:
            result = await serve_one(
                self.manager.app,
                exchange,
                message.method,
                message.params,
                connection=connection,
                lifespan_state=self.manager._lifespan_state,
            )
        except Exception as error:
            # As the SDK's dispatcher answers a handler's exception (jsonrpc_dispatcher).
            data = handler_exception_to_error_data(error)
            if data is None:
                logger.exception("handler for %r raised", message.method)
                data = ErrorData(code=0, message=str(error))
            return JSONRPCError(jsonrpc="2.0", id=message.id, error=data)
        return JSONRPCResponse(jsonrpc="2.0", id=message.id, result=result)
