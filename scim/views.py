"""The SCIM 2.0 service (RFC 7644) at /scim/v2/: discovery, and the organization's Users.

Every request carries an organization's SCIM token (one query: scim.tokens); what it
reads and changes is that organization's, and nothing else exists for it. Payloads,
filters and PATCH operations are read by scim2-models; changes go through
scim.provisioning."""

import json
import re
from functools import wraps

from django.http import HttpRequest
from django.views.decorators.csrf import csrf_exempt
from pydantic import ValidationError
from scim2_models import (
    Context,
    InvalidSyntaxException,
    InvalidValueException,
    ListResponse,
    Meta,
    NotFoundException,
    PatchOp,
    ResponseParameters,
    SCIMException,
    ScimFilter,
    SearchRequest,
)

from . import filters, protocol, provisioning, tokens
from .models import ScimUser
from .protocol import MAX_RESULTS, PROVIDER, UserResource, error, error_from, respond

UNAUTHORIZED = "Send the organization's SCIM token as 'Authorization: Bearer <token>'."


def scim_view(*methods: str):
    """The token checked (401 otherwise), the method too (405), the provider's policy in
    force, and any SCIM error the library or a service raised answered in SCIM's shape."""

    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
            token = tokens.authenticate(raw.strip()) if scheme.lower() == "bearer" else None
            if token is None:
                response = error(401, UNAUTHORIZED)
                response["WWW-Authenticate"] = 'Bearer realm="SCIM"'
                return response
            if methods and request.method not in methods:
                response = error(405, f"{request.method} is not supported here.")
                response["Allow"] = ", ".join(methods)
                return response
            try:
                with PROVIDER:
                    return view(request, token, *args, **kwargs)
            except SCIMException as exception:
                return error_from(exception)
            except ValidationError as exception:
                return protocol.error_from_validation(exception)

        return wrapper

    return decorate


def _base(request) -> str:
    return request.build_absolute_uri("/scim/v2")


def _payload(request) -> dict:
    try:
        payload = json.loads(request.body or b"null")
    except (UnicodeDecodeError, ValueError):
        payload = None
    if not isinstance(payload, dict):
        raise InvalidSyntaxException(detail="The body must be a JSON object.")
    if _holds_nul(payload):
        # No text column or JSON document of PostgreSQL's holds a NUL character, nor a
        # lone UTF-16 surrogate (JSON's "\ud800" escapes decode to one; UTF-8 has none).
        raise InvalidValueException(detail="A value holds a NUL character or a lone surrogate.")
    return payload


UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _holds_nul(value) -> bool:
    if isinstance(value, str):
        return UNSTORABLE.search(value) is not None
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def _resource(request, scim_user: ScimUser) -> UserResource:
    # As stored: what the provider wrote, read without a request's checks (it was
    # checked when it was written).
    resource = UserResource.model_validate(scim_user.attributes, scim_ctx=Context.DEFAULT)
    resource.id = str(scim_user.pk)
    resource.user_name = scim_user.user_name
    resource.external_id = scim_user.external_id or None
    # `active` as the membership has it, once the provider has said it (a resource whose
    # provider never set it, or removed it, has none, and its membership is unchanged).
    resource.active = scim_user.active if "active" in scim_user.attributes else None
    resource.meta = Meta(
        resource_type="User",
        created=scim_user.created_at,
        last_modified=scim_user.updated_at,
        location=f"{_base(request)}/Users/{scim_user.pk}",
        version=f'W/"{scim_user.version}"',
    )
    return resource


def _dump(resource, parameters=None) -> dict:
    return resource.model_dump(
        scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=parameters
    )


def _user_response(request, scim_user, status=200, parameters=None):
    resource = _resource(request, scim_user)
    return respond(
        _dump(resource, parameters), status, headers={"Location": resource.meta.location}
    )


def _get_scim_user(token, resource_id: str) -> ScimUser:
    scim_user = (
        ScimUser.objects.select_related("user")
        .filter(organization=token.organization, pk=protocol.as_uuid(resource_id))
        .first()
    )
    if scim_user is None:
        raise NotFoundException(detail=f"No User {resource_id} here.")
    return scim_user


@scim_view("GET")
def service_provider_config(request, token):
    config = PROVIDER.config.model_copy()
    config.meta = Meta(
        resource_type="ServiceProviderConfig",
        location=f"{_base(request)}/ServiceProviderConfig",
    )
    return respond(config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


def _listed(request, items, kind: str) -> list[dict]:
    dumped = []
    for item in items:
        item = item.model_copy()
        item.meta = Meta(resource_type=kind, location=f"{_base(request)}/{kind}s/{item.id}")
        dumped.append(item.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    return dumped


def _list_response(resources: list[dict], total: int, start: int = 1) -> dict:
    return {
        "schemas": [str(ListResponse.__schema__)],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def _discovery(request, items, kind: str, resource_id: str | None):
    listed = _listed(request, items, kind)
    if resource_id is None:
        return respond(_list_response(listed, len(listed)))
    for entry in listed:
        if entry["id"] == resource_id:
            return respond(entry)
    return error(404, f"No {kind} {resource_id} here.")


@scim_view("GET")
def resource_types(request, token, resource_id=None):
    return _discovery(request, PROVIDER.resource_types, "ResourceType", resource_id)


@scim_view("GET")
def schemas(request, token, resource_id=None):
    return _discovery(request, PROVIDER.schemas, "Schema", resource_id)


def _search(request, token, search: SearchRequest):
    users = ScimUser.objects.filter(organization=token.organization).select_related("user")
    if search.filter is not None:
        bound = ScimFilter[UserResource](str(search.filter))
        query = filters.as_query(bound)
        if query is None:  # the library evaluates what no column holds
            matching = [
                scim_user.pk for scim_user in users if bound.match(_resource(request, scim_user))
            ]
            users = users.filter(pk__in=matching)
        else:
            users = users.filter(query)
    start = max(search.start_index or 1, 1)
    count = MAX_RESULTS if search.count is None else min(max(search.count, 0), MAX_RESULTS)
    total = users.count()
    # Past the end, an empty page without asking the database (an index beyond a bigint
    # would be its error, not the client's).
    page = list(users[start - 1 : start - 1 + count]) if count and start <= total else []
    resources = [_dump(_resource(request, scim_user), search) for scim_user in page]
    return respond(_list_response(resources, total, start))


@scim_view("GET", "POST")
def users(request, token):
    if request.method == "POST":
        resource = UserResource.model_validate(
            _payload(request), scim_ctx=Context.RESOURCE_CREATION_REQUEST
        )
        scim_user = provisioning.create(token, resource)
        return _user_response(request, scim_user, status=201)
    parameters = dict(request.GET.items())
    if _holds_nul(parameters):
        raise InvalidValueException(detail="A parameter holds a NUL character.")
    search = SearchRequest[UserResource].model_validate(parameters, scim_ctx=Context.SEARCH_REQUEST)
    return _search(request, token, search)


@scim_view("POST")
def users_search(request, token):
    search = SearchRequest[UserResource].model_validate(
        _payload(request), scim_ctx=Context.SEARCH_REQUEST
    )
    return _search(request, token, search)


@scim_view("GET", "PUT", "PATCH", "DELETE")
def user(request, token, resource_id):
    scim_user = _get_scim_user(token, resource_id)
    if request.method == "GET":
        parameters = ResponseParameters[UserResource].model_validate(dict(request.GET.items()))
        return _user_response(request, scim_user, parameters=parameters)
    if request.method == "DELETE":
        provisioning.delete(token, scim_user)
        return protocol.no_content()
    current = _resource(request, scim_user)
    if request.method == "PUT":
        resource = UserResource.model_validate(
            _payload(request), scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST
        )
        resource.replace(current)
    else:
        patch = PatchOp[UserResource].model_validate(
            _payload(request), scim_ctx=Context.RESOURCE_PATCH_REQUEST
        )
        resource = current
        patch.patch(resource)
    scim_user = provisioning.replace(token, scim_user, resource)
    return _user_response(request, scim_user)


@scim_view()
def not_found(request, token, *args, **kwargs):
    """Anything else under /scim/, by any method: SCIM's 404 (a 401 without a token),
    never a page."""
    return error(404, "No such SCIM endpoint.")
