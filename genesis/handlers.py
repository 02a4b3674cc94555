"""Two middleware stacks, chosen by path in one place: the console's, and the lean one of
the machine-facing URLs (genesis.machine.is_machine_path: the API, OAuth discovery).

A key-authenticated API request needs the client's address, the security headers that
apply to JSON and its own check; it paid for sessions, CSRF, messages, locale
negotiation, htmx, the sign-in lockout (django-axes then), the audit context's user
lookup and a Content-Security-Policy built twice, about 300 of /api/v1/health's 420 µs.
So the API has a handler of its own, with settings.MACHINE_MIDDLEWARE; the console keeps
settings.MIDDLEWARE, all of it.
(/mcp is served by the MCP SDK's app, in front of which genesis.mcp_gate does the same
few things.)
"""

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

from genesis.machine import is_machine_path, is_mcp_path


class MachineHandler(WSGIHandler):
    """Django's WSGI handler, with MACHINE_MIDDLEWARE for its middleware."""

    def load_middleware(self, is_async=False):
        # Django reads the one MIDDLEWARE setting; at startup, in one thread, this handler
        # has it point at the machine list while it builds its stack.
        console_middleware = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.MACHINE_MIDDLEWARE
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = console_middleware


class ConsoleOrMachine:
    """The WSGI application: each request to the handler of its path, and /mcp to `mcp`
    where one is given (genesis.wsgi; under ASGI the MCP server is served before this)."""

    def __init__(self, mcp=None):
        self.console = WSGIHandler()
        self.machine = MachineHandler()
        self.mcp = mcp

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if self.mcp is not None and is_mcp_path(path):
            return self.mcp(environ, start_response)
        if is_machine_path(path):
            return self.machine(environ, start_response)
        return self.console(environ, start_response)
