import json

import pytest
from django.test import Client

from scim import tokens

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


def user_payload(email: str, **extra) -> dict:
    return {
        "schemas": [USER_SCHEMA],
        "userName": email,
        "name": {"givenName": "Sam", "familyName": "Smith"},
        "emails": [{"value": email, "primary": True, "type": "work"}],
        "active": True,
        **extra,
    }


def patch_payload(*operations: dict) -> dict:
    return {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}


class Scim:
    """Django's test client speaking SCIM with one token (in this process, through the
    same middleware and views as the production servers)."""

    def __init__(self, raw_token: str | None):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {raw_token}"} if raw_token else {}

    def _send(self, method, path, payload=None, **extra):
        body = json.dumps(payload) if isinstance(payload, dict | list) else payload
        return getattr(self.client, method)(
            "/scim/v2" + path,
            body,
            content_type="application/scim+json",
            headers=self.headers,
            **extra,
        )

    def get(self, path, params=None):
        return self.client.get("/scim/v2" + path, params or {}, headers=self.headers)

    def post(self, path, payload):
        return self._send("post", path, payload)

    def put(self, path, payload):
        return self._send("put", path, payload)

    def patch(self, path, payload):
        return self._send("patch", path, payload)

    def delete(self, path):
        return self.client.delete("/scim/v2" + path, headers=self.headers)


@pytest.fixture
def make_token(db):
    def make(organization, name="Okta"):
        return tokens.create_token(organization, name, actor=None)

    return make


@pytest.fixture
def scim(org, owner, make_token):
    """A SCIM client of Acme (whose Owner is `owner`)."""
    _token, raw = make_token(org)
    return Scim(raw)


def assert_scim_error(response, status: int, scim_type: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/scim+json"
    body = response.json()
    assert body["schemas"] == [ERROR_SCHEMA]
    assert str(body["status"]) == str(status)
    if scim_type is not None:
        assert body.get("scimType") == scim_type
    return body
