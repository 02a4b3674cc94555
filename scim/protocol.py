"""SCIM 2.0's shapes, from scim2-models: the resource we serve, what the service
announces, how a payload is read and an error written. No hand-written parsing here:
payloads, filters and PATCH operations are the library's."""

import json
import uuid
from typing import Annotated

from django.http import HttpResponse
from pydantic import ValidationError
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    Email,
    EnterpriseUser,
    Error,
    ETag,
    Filter,
    Patch,
    Required,
    ResourceType,
    SCIMException,
    ScimPolicy,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    User,
)

CONTENT_TYPE = "application/scim+json"
MAX_RESULTS = 200


class PersonEmail(Email):
    # A string, checked by Django's own rule (scim.provisioning): email-validator's
    # refuses reserved names (.test, .local) that companies' directories do hold.
    value: Annotated[str | None, Required.true] = None


class PersonUser(User):
    """The core User as we serve it: an email address is required, since a member is a
    person we can reach (their account is found, or made, by that address). Published
    so in /Schemas, so clients know before they send (RFC 7643 7)."""

    emails: Annotated[list[PersonEmail] | None, Required.true] = None


# The resource served at /Users, with the enterprise extension Entra and Okta send.
UserResource = PersonUser[EnterpriseUser]

# What identity providers send that the RFCs don't quite allow, accepted where it can't be
# mistaken for something else: attributes we don't model are dropped, Entra's "remove
# with a value" and its "replace emails[type eq "work"].value" on a missing entry work.
POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)

CONFIG = ServiceProviderConfig(
    documentation_uri=None,
    patch=Patch(supported=True),
    bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
    filter=Filter(supported=True, max_results=MAX_RESULTS),
    change_password=ChangePassword(supported=False),
    sort=Sort(supported=False),
    etag=ETag(supported=False),
    authentication_schemes=[
        AuthenticationScheme(
            type="oauthbearertoken",
            name="Bearer token",
            description=(
                "A SCIM token made by an Owner in the organization's Settings, sent as "
                "'Authorization: Bearer <token>'."
            ),
            primary=True,
        )
    ],
)

PROVIDER = ScimProvider(
    models=[PersonUser, EnterpriseUser],
    resource_types=[ResourceType.from_resource(UserResource)],
    config=CONFIG,
    policy=POLICY,
)


def respond(payload: dict, status: int = 200, headers: dict | None = None) -> HttpResponse:
    response = HttpResponse(json.dumps(payload), status=status, content_type=CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def error(status: int, detail: str, scim_type: str | None = None) -> HttpResponse:
    body = Error(status=status, scim_type=scim_type, detail=detail)
    return respond(body.model_dump(scim_ctx=Context.DEFAULT), status=status)


def error_from(exception: SCIMException) -> HttpResponse:
    body = exception.to_error()
    return respond(body.model_dump(scim_ctx=Context.DEFAULT), status=body.status or 400)


def error_from_validation(exception: ValidationError) -> HttpResponse:
    """A payload the library refused: its own reading of the first problem (invalidValue,
    invalidFilter, invalidPath, mutability ...), 400."""
    first = exception.errors()[0]
    body = Error.from_validation_error(first)
    return respond(body.model_dump(scim_ctx=Context.DEFAULT), status=body.status or 400)


def no_content() -> HttpResponse:
    return HttpResponse(status=204)


def as_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None
