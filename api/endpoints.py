"""The Genesis API (django-ninja): a thin adapter over apikeys.services.authenticate."""

import json

from django.http import HttpResponse
from django.views.decorators.debug import sensitive_variables
from ninja import NinjaAPI, Query
from ninja.errors import AuthenticationError, ValidationError
from ninja.responses import Status
from ninja.security import APIKeyHeader
from pydantic import BaseModel

from apikeys import key_management, leaks, services, throttle, usage
from apikeys.models import Outcome, Surface
from apikeys.shapes import (
    THROTTLED,
    UNAUTHORIZED,
    Error,
    KeyInfo,
    KeyUsage,
    Me,
    OrganizationKeyPage,
)
from infra import client_ip, faults, limits, metrics, readiness
from infra.machine import ERRORS
from organizations import scopes


class Throttled(Exception):
    def __init__(self, retry_after: int):
        self.retry_after = retry_after


class InsufficientScope(Exception):
    def __init__(self, scope: str):
        self.scope = scope


class ApiKeyAuth(APIKeyHeader):
    """A valid key that carries `scope` (organizations.scopes); a valid key without it is a 403
    naming the scope it needs."""

    param_name = "X-API-Key"

    def __init__(self, *needed: str):
        super().__init__()
        self.needed = needed or (scopes.API_READ,)

    # Crash reports list each frame's local variables: none of the frames that hold the
    # key may show it.
    @sensitive_variables("key")
    def __call__(self, request):
        # Straight from the WSGI environ: request.headers would copy every header into a
        # new mapping on each request, only to read this one.
        key = request.META.get("HTTP_X_API_KEY")
        return self.authenticate(request, key)

    @sensitive_variables("key")
    def authenticate(self, request, key):
        ip = client_ip.of_request(request)
        wait = throttle.retry_after(ip)
        if wait:
            usage.throttled(key, Surface.API)
            metrics.key_check("api", "throttled")
            raise Throttled(wait)
        context = services.authenticate(key, ip)
        if context is None:
            metrics.key_check("api", "refused")
            throttle.record_failure(ip)
            usage.refused(key, Surface.API)
            return None
        for scope in self.needed:
            if scope not in context.scopes:
                usage.record(context.key_id, Surface.API, Outcome.FORBIDDEN)
                metrics.key_check("api", "forbidden", context.credential)
                raise InsufficientScope(scope)
        metrics.key_check("api", "ok", context.credential)
        services.record_use(
            context,
            ip=ip,
            surface=Surface.API,
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
        usage.record(context.key_id, Surface.API, Outcome.OK)
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


@api.exception_handler(ValidationError)
def bad_request(request, exc):
    # In the shape of every other error here (ninja's default is a 422 of its own shape).
    # Where and what, never the value sent.
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error['loc'][1:])}: {error['msg']}"
        for error in exc.errors
    )
    return api.create_response(
        request, {"error": "bad_request", "error_description": problems}, status=400
    )


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
        THROTTLED,
        status=429,
    )
    response["Retry-After"] = str(exc.retry_after)
    return response


# Plain pydantic models: ninja's Schema adds an ORM-friendly validator that /me, which
# answers with a dict, would pay for on every request.
class Health(BaseModel):
    status: str


HEALTHY = Health(status="ok").model_dump_json()


class Readiness(BaseModel):
    status: str
    checks: dict[str, str] | None = None


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


# Key management: the same services and access rules as the console (apikeys.key_management).
# No endpoint makes a key or returns a secret.


NO_SUCH_KEY = {"error": "not_found", "error_description": "No such active API key"}
REFUSALS = {401: Error, 403: Error, 429: Error}


@api.get(
    "/keys",
    auth=ApiKeyAuth(scopes.API_READ),
    response={200: list[KeyInfo], **REFUSALS},
    tags=["keys"],
    summary="Your active API keys in this key's organization",
)
def list_my_keys(request):
    return [KeyInfo.of(key, request.auth.role) for key in key_management.my_keys(request.auth)]


@api.delete(
    "/keys/{key_id}",
    auth=ApiKeyAuth(scopes.API_WRITE),
    response={204: None, 404: Error, **REFUSALS},
    tags=["keys"],
    summary="Delete one of your keys (it stops working at once)",
)
def delete_my_key(request, key_id: int):
    try:
        key_management.delete_mine(request.auth, key_id)
    except key_management.NotFound:
        return Status(404, NO_SUCH_KEY)
    return Status(204, None)


@api.get(
    "/organization/keys",
    auth=ApiKeyAuth(scopes.API_READ, scopes.ORG_ADMIN),
    response={200: OrganizationKeyPage, **REFUSALS},
    tags=["organization"],
    summary="The organization's active API keys (needs org:admin)",
    description="Newest first. `member` matches the creator's name or email, `name` the "
    "key's name; `limit` is at most 100.",
)
def list_organization_keys(
    request,
    member: str = "",
    name: str = "",
    limit: int = Query(50, ge=1, le=key_management.MAX_PAGE),
    offset: int = Query(0, ge=0, le=key_management.MAX_OFFSET),
):
    page = key_management.organization_keys(
        request.auth, member=member, name=name, limit=limit, offset=offset
    )
    return OrganizationKeyPage.of(page)


@api.post(
    "/organization/keys/{key_id}/revoke",
    auth=ApiKeyAuth(scopes.API_WRITE, scopes.ORG_ADMIN),
    response={204: None, 404: Error, **REFUSALS},
    tags=["organization"],
    summary="Revoke a key of the organization (needs org:admin)",
)
def revoke_organization_key(request, key_id: int):
    try:
        key_management.revoke(request.auth, key_id)
    except key_management.NotFound:
        return Status(404, NO_SUCH_KEY)
    return Status(204, None)


USAGE_DAYS_QUERY = Query(
    key_management.USAGE_DAYS,
    ge=1,
    le=key_management.USAGE_MAX_DAYS,
    description="Days back, today (UTC) included.",
)
NO_KEY = {"error": "not_found", "error_description": "No such API key"}


def _usage(work, request, key_id: int, days: int):
    try:
        return Status(200, work(request.auth, key_id, days))
    except key_management.NotFound:
        return Status(404, NO_KEY)


@api.get(
    "/keys/{key_id}/usage",
    auth=ApiKeyAuth(scopes.API_READ),
    response={200: KeyUsage, 400: Error, 404: Error, **REFUSALS},
    tags=["keys"],
    summary="Requests per day with one of your keys, by surface and outcome",
    description="Revoked and expired keys too. Counts are about a minute behind.",
)
def my_key_usage(request, key_id: int, days: int = USAGE_DAYS_QUERY):
    return _usage(key_management.my_key_usage, request, key_id, days)


@api.get(
    "/organization/keys/{key_id}/usage",
    auth=ApiKeyAuth(scopes.API_READ, scopes.ORG_ADMIN),
    response={200: KeyUsage, 400: Error, 404: Error, **REFUSALS},
    tags=["organization"],
    summary="Requests per day with a key of the organization (needs org:admin)",
    description="Revoked and expired keys too. Counts are about a minute behind.",
)
def organization_key_usage(request, key_id: int, days: int = USAGE_DAYS_QUERY):
    return _usage(key_management.organization_key_usage, request, key_id, days)


# Leaked keys (apikeys.leaks): no key needed to report one, since whoever finds a key
# should be able to kill it.
class LeakReport(BaseModel):
    key: str


class LeakReceived(BaseModel):
    status: str
    message: str


LEAK_RECEIVED = {
    "status": "received",
    "message": "Thank you. If this is a Genesis API key that still works, it is revoked now "
    "and its owner is told.",
}


def _bad_request(description: str):
    return Status(400, {"error": "bad_request", "error_description": description})


@api.post(
    "/leaked-keys",
    auth=None,
    response={202: LeakReceived, 400: Error, 429: Error},
    tags=["leaks"],
    summary="Report a leaked key: it is revoked at once (the answer is the same for any key)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": LeakReport.model_json_schema()}},
        }
    },
)
@sensitive_variables("report")
def report_leaked_key(request):
    ip = client_ip.of_request(request)
    network = client_ip.network_of(ip)  # an IPv6 client as its /64
    if not limits.hit("leak_reports", network):
        response = api.create_response(
            request,
            {"error": "too_many_requests", "error_description": "Too many reports; try later"},
            status=429,
        )
        response["Retry-After"] = str(limits.retry_after("leak_reports", network))
        return response
    try:
        report = json.loads(request.body)
    except (ValueError, RecursionError):  # not JSON, or nested past what the parser takes
        return _bad_request('Send JSON: {"key": "gns_..."}')
    if not isinstance(report, dict) or not isinstance(report.get("key"), str):
        return _bad_request('Send JSON: {"key": "gns_..."}')
    referer = request.META.get("HTTP_REFERER", "")
    leaks.report(report["key"].strip(), where=referer[:500], reporter=f"public report from {ip}")
    return Status(202, LEAK_RECEIVED)


class GithubLabel(BaseModel):
    token_hash: str
    token_type: str
    label: str


@api.post(
    "/secret-scanning/github",
    auth=None,
    response={200: list[GithubLabel], 400: Error, 401: Error, 503: Error},
    tags=["leaks"],
    summary="GitHub secret scanning partner endpoint (signed by GitHub)",
    include_in_schema=True,
)
def github_secret_scanning(request):
    body = request.body
    try:
        signed = leaks.verify_github(
            body,
            request.META.get("HTTP_GITHUB_PUBLIC_KEY_IDENTIFIER", ""),
            request.META.get("HTTP_GITHUB_PUBLIC_KEY_SIGNATURE", ""),
        )
    except leaks.NotConfigured as error:
        faults.report("GitHub secret scanning is not configured", request.path, error)
        return Status(503, ERRORS[503])
    if not signed:
        return Status(
            401,
            {"error": "invalid_signature", "error_description": "Not signed by GitHub"},
        )
    answers = leaks.github_report(body)
    if answers is None:
        return _bad_request("Expected GitHub's JSON list of found tokens")
    return Status(200, answers)
