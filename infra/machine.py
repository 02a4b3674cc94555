"""Machine-facing URLs (the API, the MCP server, OAuth discovery, SCIM) answer JSON, errors
included, never an HTML page. SCIM's errors have SCIM's own shape and media type (RFC 7644
3.12), whoever answers: the SCIM views, or the layers around them (a 413, a 500)."""

import json
from http import HTTPStatus

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.template import loader

# Where MCP clients look for OAuth before they connect (RFC 8414, RFC 9728, OpenID
# discovery, dynamic registration). Only the MCP server's OAuth path has any (genesis.urls):
# a client probing elsewhere is told which URL is for what; mcp-remote and the Inspector
# print this description.
DISCOVERY_PREFIXES = ("/.well-known/", "/register")
NO_OAUTH = {
    "error": "not_found",
    "error_description": (
        f"No OAuth here. At {settings.MCP_PATH}, send a Genesis API key (create one in "
        "Genesis Console) as 'Authorization: Bearer <key>'. Clients that sign in with "
        f"OAuth connect to {settings.MCP_OAUTH_PATH} instead."
    ),
}
ERRORS = {
    400: {"error": "bad_request", "error_description": "The request could not be understood"},
    403: {"error": "forbidden", "error_description": "Not allowed"},
    404: {"error": "not_found", "error_description": "No such endpoint"},
    413: {"error": "request_too_large", "error_description": "Request body too large"},
    500: {"error": "server_error", "error_description": "Something went wrong on our side"},
    503: {
        "error": "temporarily_unavailable",
        "error_description": "A service this server needs is not answering; try again shortly",
    },
}


def _normalized(path: str) -> str:
    # "//api/v1/health" is a path too (browsers and proxies pass it on as it is).
    return "/" + path.lstrip("/")


def is_mcp_path(path: str) -> bool:
    return path == settings.MCP_PATH or path.startswith(settings.MCP_PATH + "/")


def is_oauth_endpoint(path: str) -> bool:
    """The authorization server's endpoints for programs (token, revoke, register); its
    consent page, for people, is the console's."""
    prefix = settings.OAUTH_PATH + "/"
    return path.startswith(prefix) and not path.startswith(prefix + "authorize/")


# Prometheus's scrape (infra.scrape).
METRICS_PATH = "/metrics"

# SCIM provisioning (scim).
SCIM_PREFIX = "/scim/"
SCIM_CONTENT_TYPE = "application/scim+json"
SCIM_ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


def is_scim_path(path: str) -> bool:
    return _normalized(path).startswith(SCIM_PREFIX)


def is_machine_path(path: str) -> bool:
    path = _normalized(path)
    return (
        path.startswith("/api/")
        or is_mcp_path(path)
        or path == METRICS_PATH
        or path.startswith(METRICS_PATH + "/")
        or path.startswith(DISCOVERY_PREFIXES)
        or is_oauth_endpoint(path)
        or path.startswith(SCIM_PREFIX)
    )


def is_discovery_path(path: str) -> bool:
    """A URL where a client looks for OAuth: the well-known ones and registration, also
    below the MCP server's path (/mcp/.well-known/openid-configuration)."""
    path = _normalized(path)
    return path.startswith(DISCOVERY_PREFIXES) or path.startswith(settings.MCP_PATH + "/")


def error_body(path: str, status: int) -> dict:
    """The JSON body of an error at a machine-facing URL."""
    if is_scim_path(path):
        detail = ERRORS.get(status, {}).get("error_description") or HTTPStatus(status).phrase
        return {"schemas": [SCIM_ERROR_SCHEMA], "status": str(status), "detail": detail}
    if status == 404 and is_discovery_path(path):
        return NO_OAUTH
    body = ERRORS.get(status)
    if body is None:
        phrase = HTTPStatus(status).phrase
        body = {"error": phrase.lower().replace(" ", "_"), "error_description": phrase}
    return body


async def send_answer(send, status: int, payload: bytes, content_type: bytes, headers=()):
    """A whole ASGI answer (the MCP gate's, a refused request body's)."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


async def send_json(send, status: int, body: dict, headers: list[tuple[bytes, bytes]]):
    await send_answer(send, status, json.dumps(body).encode(), b"application/json", headers)


def machine_error(path: str, status: int) -> JsonResponse:
    if is_scim_path(path):
        return JsonResponse(error_body(path, status), status=status, content_type=SCIM_CONTENT_TYPE)
    return JsonResponse(error_body(path, status), status=status)


def is_json(response) -> bool:
    content_type = response.get("Content-Type", "")
    return content_type.startswith(("application/json", SCIM_CONTENT_TYPE))


# One policy, written once: JSON needs none, and the API's docs page (Swagger UI, no
# inline script) needs only its own scripts, styles and schema.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)


def too_large(request) -> HttpResponse:
    """413: JSON for programs, a short page for people."""
    if is_machine_path(request.path):
        return machine_error(request.path, 413)
    return HttpResponse(loader.get_template("413.html").render(), status=413)


class BodyLimitMiddleware:
    """A request that says its body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE gets 413
    before anything reads it or acts on it (Django itself would refuse it only when a view
    reads the body, with a 400). A body that turns out larger than it said is Django's
    RequestDataTooBig, answered 413 too (genesis.views.bad_request). The proxy in front
    refuses such bodies first (docs/deploy/genesis-proxy.conf)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length > limit:
            response = too_large(request)
            response["Connection"] = "close"  # the rest of the body is never read
            return response
        return self.get_response(request)


class MachineResponsesMiddleware:
    """What every answer at a machine-facing URL looks like, whatever made it:

    - an error is JSON: whatever answered with something else (django-ninja's 405, for
      one), the client gets the JSON error of that status, with the headers that tell it
      what to do (Allow, Retry-After, WWW-Authenticate);
    - a fixed Content-Security-Policy, where the console's is built per request."""

    KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not is_machine_path(request.path):
            return response  # in the console's stack, its pages pass untouched
        if response.status_code >= 400 and not is_json(response):
            replacement = machine_error(request.path, response.status_code)
            for header in self.KEPT_HEADERS:
                if header in response:
                    replacement[header] = response[header]
            response = replacement
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response
