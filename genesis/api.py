"""The Genesis API (django-ninja): a thin adapter over apikeys.services.authenticate."""

from datetime import datetime

from django.http import HttpResponse
from django.views.decorators.debug import sensitive_variables
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.responses import Status
from ninja.security import APIKeyHeader
from pydantic import BaseModel

from apikeys import scopes, services, throttle
from apikeys.models import Surface
from genesis import client_ip, faults, readiness
from genesis.machine import ERRORS

# Every refusal gets these same bytes, whatever was wrong with the key: nothing tells a
# missing key from a revoked one. The MCP server answers with the same body.
UNAUTHORIZED = {"error": "invalid_token", "error_description": "Authentication required"}


class Throttled(Exception):
    def __init__(self, retry_after: int):
        self.retry_after = retry_after


class InsufficientScope(Exception):
    def __init__(self, scope: str):
        self.scope = scope


class ApiKeyAuth(APIKeyHeader):
    """A valid key that carries `scope` (apikeys.scopes); a valid key without it is a 403
    naming the scope it needs."""

    param_name = "X-API-Key"

    def __init__(self, scope: str = scopes.API_READ):
        super().__init__()
        self.scope = scope

    def _get_key(self, request):
        # Straight from the WSGI environ: request.headers would copy every header into a
        # new mapping on each request, only to read this one.
        return request.META.get("HTTP_X_API_KEY")

    # Crash reports list each frame's local variables: none of the frames that hold the
    # key may show it.
    @sensitive_variables("key")
    def __call__(self, request):
        key = self._get_key(request)
        return self.authenticate(request, key)

    @sensitive_variables("key")
    def authenticate(self, request, key):
        ip = client_ip.of_request(request)
        wait = throttle.retry_after(ip)
        if wait:
            raise Throttled(wait)
        context = services.authenticate(key, ip)
        if context is None:
            throttle.record_failure(ip)
            return None
        if self.scope not in context.scopes:
            raise InsufficientScope(self.scope)
        services.record_use(
            context,
            ip=ip,
            surface=Surface.API,
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
        return context


api = NinjaAPI(
    title="Genesis API",
    version="1",
    description="Send your API key in the `x-api-key` header. Create keys in Genesis Console.",
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


@api.exception_handler(AuthenticationError)
def unauthorized(request, exc):
    return api.create_response(request, UNAUTHORIZED, status=401)


def unavailable(request, exc):
    # Handled here rather than by Django's handler500, which DEBUG would bypass.
    faults.report("API request failed, a dependency is down", request.path, exc)
    response = api.create_response(request, ERRORS[503], status=503)
    response["Retry-After"] = str(faults.RETRY_AFTER_SECONDS)
    return response


for _error in faults.DEPENDENCY_ERRORS:
    api.add_exception_handler(_error, unavailable)


@api.exception_handler(InsufficientScope)
def insufficient_scope(request, exc):
    return api.create_response(
        request,
        {
            "error": "insufficient_scope",
            "error_description": f"This API key lacks the {exc.scope} scope.",
            "scope": exc.scope,
        },
        status=403,
    )


@api.exception_handler(Throttled)
def throttled(request, exc):
    response = api.create_response(
        request,
        {"error": "too_many_requests", "error_description": "Too many failed attempts"},
        status=429,
    )
    response["Retry-After"] = str(exc.retry_after)
    return response


# Plain pydantic models: ninja's Schema adds an ORM-friendly validator that /me, which
# answers with a dict, would pay for on every request.
class Health(BaseModel):
    status: str


HEALTHY = Health(status="ok").model_dump_json()


class Me(BaseModel):
    user_name: str
    user_email: str
    organization_name: str
    organization_slug: str
    role: str
    key_name: str
    key_hint: str
    key_created_at: datetime
    key_expires_at: datetime | None


class Readiness(BaseModel):
    status: str
    checks: dict[str, str] | None = None


class Error(BaseModel):
    error: str
    error_description: str


@api.get("/health", response=Health, tags=["meta"], summary="Liveness: the process answers")
def health(request):
    # The same bytes every time: nothing to validate or encode per request.
    return HttpResponse(HEALTHY, content_type="application/json; charset=utf-8")


@api.get(
    "/ready",
    response={200: Readiness, 503: Readiness},
    tags=["meta"],
    summary="Readiness for load balancers",
    description="503 while the database (or Redis, where configured) doesn't answer within "
    "100 ms, and while the server drains before it stops.",
)
def ready(request):
    is_ready, body = readiness.check()
    return Status(200 if is_ready else 503, body)


@api.get(
    "/me",
    auth=ApiKeyAuth(scopes.API_READ),
    response={200: Me, 401: Error, 403: Error, 429: Error},
    tags=["keys"],
    summary="Who this API key belongs to",
)
def me(request):
    # Validated and serialized by pydantic-core in one step, as the MCP server's whoami
    # is: ninja's generic path (validate, dump to Python objects, then json.dumps with a
    # Python encoder) cost more than this request's share of the key check.
    body = Me.model_validate(request.auth, from_attributes=True).model_dump_json()
    return HttpResponse(body, content_type="application/json; charset=utf-8")
