"""What the Genesis API and the MCP server answer with, in one place: the two transports
describe a key, its owner and a refusal in the same words (api.endpoints and mcp_server
import them from here)."""

from datetime import date, datetime

from pydantic import BaseModel, field_validator

from infra import mail
from organizations import scopes

# Every refusal gets these same bytes, whatever was wrong with the key: nothing tells a
# missing key from a revoked one. The MCP server answers with the same body.
UNAUTHORIZED = {"error": "invalid_token", "error_description": "Authentication required"}


# After too many failed key checks from one address (apikeys.throttle), with Retry-After.
THROTTLED = {"error": "too_many_requests", "error_description": "Too many failed attempts"}


class Error(BaseModel):
    error: str
    error_description: str


class Me(BaseModel):
    user_name: str
    user_email: str  # empty for a service account: it has no address of its own
    organization_name: str
    organization_slug: str
    role: str
    key_name: str
    key_hint: str
    key_created_at: datetime
    key_expires_at: datetime | None

    @field_validator("user_email")
    @classmethod
    def _no_internal_address(cls, email: str) -> str:
        return "" if mail.undeliverable(email) else email


class KeyInfo(BaseModel):
    id: int
    name: str
    hint: str
    scopes: list[str]
    allowed_ips: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    last_used_surface: str
    last_used_client: str

    @classmethod
    def of(cls, key, role: str, **extra):
        """`role`: the owner's, so `scopes` is what the key can do now (a demoted Admin's
        org:admin is not listed)."""
        return cls(
            id=key.pk,
            name=key.name,
            hint=key.hint,
            scopes=scopes.serialize(scopes.effective(key.scopes, role)).split(),
            allowed_ips=key.allowed_ips.split(),
            created_at=key.created_at,
            expires_at=key.expires_at,
            last_used_at=key.last_used_at,
            last_used_surface=key.last_used_surface,
            last_used_client=key.last_used_client,
            **extra,
        )


class Creator(BaseModel):
    name: str
    email: str

    @classmethod
    def of(cls, user):
        return None if user is None else cls(name=user.name, email=user.email)


class Owner(Creator):
    service_account: bool  # automation's own identity, not a person


class OrganizationKeyInfo(KeyInfo):
    created_by: Owner  # whose key it is (a member, or a service account)
    made_by: Creator | None  # who made it (a service account's: the Admin who did)


class OrganizationKeyPage(BaseModel):
    count: int
    items: list[OrganizationKeyInfo]

    @classmethod
    def of(cls, page):
        return cls(
            count=page.count,
            items=[
                OrganizationKeyInfo.of(
                    key,
                    key.owner_role or "",
                    created_by=Owner(
                        name=key.user.name,
                        email="" if key.user.is_service_account else key.user.email,
                        service_account=key.user.is_service_account,
                    ),
                    made_by=Creator.of(key.created_by),
                )
                for key in page.items
            ],
        )


class UsageBucket(BaseModel):
    date: date  # the day, UTC
    surface: str  # api, mcp
    outcome: str  # ok, forbidden (a scope missing), refused (401), throttled (429)
    count: int


class KeyUsage(BaseModel):
    """A key's requests per day, surface and outcome, oldest first; days and kinds without
    requests are left out. About a minute behind (apikeys.usage)."""

    key_id: int
    buckets: list[UsageBucket]
