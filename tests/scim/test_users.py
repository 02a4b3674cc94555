"""The SCIM service's Users, errors and discovery, in this process."""

import pytest

from organizations.models import AuditAction, AuditEvent, Membership, Role, User
from scim import tokens
from scim.models import ScimUser

from .conftest import Scim, assert_scim_error, patch_payload, user_payload


def create(scim, email="sam@acme.test", **extra):
    response = scim.post("/Users", user_payload(email, **extra))
    assert response.status_code == 201, response.content
    return response.json()


# Authentication


@pytest.mark.parametrize(
    "header",
    [None, "Bearer nope", "Basic abc", "Bearer scim_gns_" + "A" * 38, "Bearer "],
)
def test_a_request_without_a_valid_token_gets_401(db, header):
    client = Scim(None)
    if header is not None:
        client.headers = {"Authorization": header}
    for path in ("/Users", "/ServiceProviderConfig", "/Schemas"):
        response = client.get(path)
        assert_scim_error(response, 401)
        assert response["WWW-Authenticate"] == 'Bearer realm="SCIM"'


def test_a_revoked_token_gets_401(org, owner, make_token):
    token, raw = make_token(org)
    assert Scim(raw).get("/Users").status_code == 200
    tokens.revoke_token(token, actor=owner.user)
    assert_scim_error(Scim(raw).get("/Users"), 401)


def test_a_closed_organizations_token_gets_401(org, owner, make_token):
    from organizations import services

    _token, raw = make_token(org)
    services.close_organization(org, "test")
    assert_scim_error(Scim(raw).get("/Users"), 401)


def test_authenticating_costs_one_query(org, owner, make_token, django_assert_num_queries):
    token, raw = make_token(org)
    assert tokens.authenticate(raw).pk == token.pk  # writes last_used_at once
    with django_assert_num_queries(1):
        assert tokens.authenticate(raw).pk == token.pk


def test_only_the_digest_is_stored(org, make_token):
    token, raw = make_token(org)
    token.refresh_from_db()
    assert raw not in {token.digest, token.hint, token.name}
    assert token.hint.startswith("scim_gns_") and "…" in token.hint


def test_another_organizations_token_sees_and_touches_nothing_here(
    scim, other_org, outsider, make_token
):
    created = create(scim)
    _token, raw = make_token(other_org, "Globex IdP")
    theirs = Scim(raw)
    listed = theirs.get("/Users", {"filter": 'userName eq "sam@acme.test"'}).json()
    assert listed["totalResults"] == 0
    path = f"/Users/{created['id']}"
    assert_scim_error(theirs.get(path), 404)
    assert_scim_error(theirs.put(path, user_payload("sam@acme.test", active=False)), 404)
    assert_scim_error(
        theirs.patch(path, patch_payload({"op": "replace", "value": {"active": False}})), 404
    )
    assert_scim_error(theirs.delete(path), 404)
    assert ScimUser.objects.get(pk=created["id"]).active
    assert Membership.objects.filter(user__email="sam@acme.test", organization__slug="acme")


# Create and read


def test_create_makes_a_person_and_their_membership_as_member(scim, org):
    body = create(scim, externalId="00u1")
    user = User.objects.get(email="sam@acme.test")
    assert not user.has_usable_password()
    assert Membership.objects.get(user=user, organization=org).role == Role.MEMBER
    assert body["userName"] == "sam@acme.test"
    assert body["externalId"] == "00u1"
    assert body["active"] is True
    assert body["meta"]["resourceType"] == "User"
    assert body["meta"]["location"].endswith(f"/scim/v2/Users/{body['id']}")
    added = AuditEvent.objects.get(organization=org, action=AuditAction.MEMBER_ADDED)
    assert added.actor_id is None and added.actor_label == "SCIM: Okta"


def test_create_links_an_existing_account(scim, org, new_user):
    create(scim, email="Nina@Example.com")
    assert Membership.objects.get(user=new_user, organization=org).role == Role.MEMBER
    assert User.objects.filter(email__iexact="nina@example.com").count() == 1


def test_create_keeps_an_existing_members_role(scim, org, admin):
    create(scim, email=admin.user.email)
    admin.refresh_from_db()
    assert admin.role == Role.ADMIN


def test_the_same_user_name_twice_is_a_409(scim):
    create(scim)
    response = scim.post("/Users", user_payload("SAM@acme.test"))
    assert_scim_error(response, 409, "uniqueness")


def test_the_same_person_under_another_user_name_is_a_409(scim):
    create(scim)
    payload = user_payload("sam@acme.test", userName="sam")
    assert_scim_error(scim.post("/Users", payload), 409, "uniqueness")


def test_without_an_email_address_is_a_400(scim):
    payload = user_payload("sam@acme.test")
    del payload["emails"]
    assert_scim_error(scim.post("/Users", payload), 400, "invalidValue")
    assert not User.objects.filter(email="sam@acme.test").exists()


@pytest.mark.parametrize("body", [b"{", b"[]", b"null", "\u00ff".encode("latin-1")])
def test_a_body_that_is_not_a_json_object_is_a_400(scim, body):
    assert_scim_error(scim.post("/Users", body), 400, "invalidSyntax")


def test_a_service_account_cant_be_provisioned(scim, org):
    from tests.factories import make_service_account

    account = make_service_account(org)
    payload = user_payload(account.user.email)
    assert_scim_error(scim.post("/Users", payload), 400, "invalidValue")


def test_get_reads_a_user_and_404s_for_others(scim):
    created = create(scim)
    response = scim.get(f"/Users/{created['id']}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/scim+json"
    assert response.json() == created
    assert_scim_error(scim.get("/Users/not-a-uuid"), 404)
    assert_scim_error(scim.get("/Users/00000000-0000-0000-0000-000000000000"), 404)


def test_attributes_and_excluded_attributes_select_what_comes_back(scim):
    created = create(scim)
    only = scim.get(f"/Users/{created['id']}", {"attributes": "userName"}).json()
    assert set(only) == {"schemas", "id", "userName"}
    without = scim.get(f"/Users/{created['id']}", {"excludedAttributes": "name"}).json()
    assert "name" not in without and without["userName"] == "sam@acme.test"


# List, filter, paginate


def test_filter_user_name_eq_finds_one_without_case(scim, django_assert_max_num_queries):
    create(scim)
    create(scim, email="lee@acme.test")
    with django_assert_max_num_queries(4):  # token, count, page (+ last_used_at once)
        body = scim.get("/Users", {"filter": 'userName eq "SAM@acme.test"'}).json()
    assert body["totalResults"] == 1
    assert [user["userName"] for user in body["Resources"]] == ["sam@acme.test"]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('externalId eq "e-lee"', ["lee@acme.test"]),
        ('userName sw "sa"', ["sam@acme.test"]),
        ('userName co "acme" and active eq true', ["lee@acme.test", "sam@acme.test"]),
        ('emails[type eq "work" and value ew "lee@acme.test"]', ["lee@acme.test"]),
        ('name.givenName eq "Sam" and not (userName eq "lee@acme.test")', ["sam@acme.test"]),
        ("title pr", []),
    ],
)
def test_filters_the_database_or_the_library_evaluates(scim, expression, expected):
    create(scim)
    create(scim, email="lee@acme.test", externalId="e-lee")
    body = scim.get("/Users", {"filter": expression}).json()
    assert sorted(user["userName"] for user in body["Resources"]) == expected
    assert body["totalResults"] == len(expected)


@pytest.mark.parametrize(
    "expression",
    ['userName eq "x" and', "userName eq", "((", 'userName zz "x"', 'active gt "yes"'],
)
def test_a_bad_filter_is_a_400_invalid_filter(scim, expression):
    assert_scim_error(scim.get("/Users", {"filter": expression}), 400, "invalidFilter")


def test_pagination_with_start_index_and_count(scim):
    for index in range(5):
        create(scim, email=f"p{index}@acme.test")
    first = scim.get("/Users", {"startIndex": "1", "count": "2"}).json()
    assert (first["totalResults"], first["startIndex"], first["itemsPerPage"]) == (5, 1, 2)
    last = scim.get("/Users", {"startIndex": "5", "count": "2"}).json()
    assert [user["userName"] for user in last["Resources"]] == ["p4@acme.test"]
    none = scim.get("/Users", {"count": "0"}).json()
    assert (none["totalResults"], none["Resources"]) == (5, [])
    # Out of range is clamped, as RFC 7644 3.4.2.4 says.
    clamped = scim.get("/Users", {"startIndex": "-3", "count": "-1"}).json()
    assert (clamped["startIndex"], clamped["itemsPerPage"]) == (1, 0)


def test_post_search_reads_a_search_request(scim):
    create(scim)
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": 'userName eq "sam@acme.test"',
        "attributes": ["userName"],
    }
    found = scim.post("/Users/.search", body).json()
    assert found["totalResults"] == 1
    assert set(found["Resources"][0]) == {"schemas", "id", "userName"}


# Replace and patch


def test_put_replaces_the_resource(scim, org):
    created = create(scim)
    replacement = user_payload("sam@acme.test", externalId="x-1", displayName="Sam S.")
    response = scim.put(f"/Users/{created['id']}", replacement)
    assert response.status_code == 200
    assert response.json()["displayName"] == "Sam S."
    assert response.json()["meta"]["version"] == 'W/"2"'
    event = AuditEvent.objects.get(organization=org, action=AuditAction.SCIM_USER_UPDATED)
    assert event.details["fields"] == ["display_name", "external_id"]
    assert event.actor_label == "SCIM: Okta"


def test_put_to_another_users_name_is_a_409(scim):
    create(scim)
    lee = create(scim, email="lee@acme.test")
    response = scim.put(
        f"/Users/{lee['id']}", user_payload("lee@acme.test", userName="sam@acme.test")
    )
    assert_scim_error(response, 409, "uniqueness")


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "value": {"active": False}},  # Okta
        {"op": "Replace", "path": "active", "value": "False"},  # Entra
        {"op": "replace", "path": "active", "value": False},
    ],
)
def test_patch_active_false_in_every_form_removes_the_membership(scim, org, operation):
    created = create(scim)
    response = scim.patch(f"/Users/{created['id']}", patch_payload(operation))
    assert response.status_code == 200, response.content
    assert response.json()["active"] is False
    assert not Membership.objects.filter(user__email="sam@acme.test", organization=org)


def test_patch_with_a_path_changes_one_attribute(scim):
    created = create(scim)
    operation = {"op": "replace", "path": "name.givenName", "value": "Samantha"}
    body = scim.patch(f"/Users/{created['id']}", patch_payload(operation)).json()
    assert body["name"] == {"givenName": "Samantha", "familyName": "Smith"}
    added = {"op": "add", "path": 'emails[type eq "home"].value', "value": "s@home.test"}
    body = scim.patch(f"/Users/{created['id']}", patch_payload(added)).json()
    assert {email["value"] for email in body["emails"]} == {"sam@acme.test", "s@home.test"}


@pytest.mark.parametrize(
    ("operation", "scim_type"),
    [
        ({"op": "replace", "path": "nope[", "value": 1}, "invalidPath"),
        ({"op": "jump", "path": "active", "value": True}, None),
        ({"op": "remove", "path": "userName"}, "mutability"),
        ({"op": "replace", "path": "id", "value": "x"}, "mutability"),
    ],
)
def test_a_bad_patch_is_a_400_and_changes_nothing(scim, operation, scim_type):
    created = create(scim)
    response = scim.patch(f"/Users/{created['id']}", patch_payload(operation))
    assert_scim_error(response, 400, scim_type)
    assert scim.get(f"/Users/{created['id']}").json() == created


def test_reactivation_restores_the_membership_as_member_never_the_keys(scim, org, make_key):
    created = create(scim)
    membership = Membership.objects.get(user__email="sam@acme.test", organization=org)
    key = make_key(membership)
    off = patch_payload({"op": "replace", "value": {"active": False}})
    scim.patch(f"/Users/{created['id']}", off)
    on = patch_payload({"op": "replace", "value": {"active": True}})
    assert scim.patch(f"/Users/{created['id']}", on).json()["active"] is True
    again = Membership.objects.get(user__email="sam@acme.test", organization=org)
    assert again.role == Role.MEMBER
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_the_last_owner_cant_be_deactivated_or_deleted(scim, org, owner):
    created = create(scim, email=owner.user.email)
    off = patch_payload({"op": "replace", "value": {"active": False}})
    body = assert_scim_error(scim.patch(f"/Users/{created['id']}", off), 400, "mutability")
    assert "at least one Owner" in body["detail"]
    assert_scim_error(scim.delete(f"/Users/{created['id']}"), 400, "mutability")
    assert Membership.objects.filter(pk=owner.pk).exists()
    assert scim.get(f"/Users/{created['id']}").json()["active"] is True


# Delete


def test_delete_removes_the_membership_and_the_resource(scim, org):
    created = create(scim)
    response = scim.delete(f"/Users/{created['id']}")
    assert response.status_code == 204
    assert not Membership.objects.filter(user__email="sam@acme.test", organization=org)
    assert_scim_error(scim.get(f"/Users/{created['id']}"), 404)
    assert User.objects.filter(email="sam@acme.test").exists()  # the person stays
    actions = set(AuditEvent.objects.filter(organization=org).values_list("action", flat=True))
    assert {AuditAction.MEMBER_REMOVED, AuditAction.SCIM_USER_DELETED} <= actions
    # Created again: a Member again.
    create(scim)
    assert Membership.objects.get(user__email="sam@acme.test", organization=org).role == "member"


# Discovery and the rest


def test_discovery_endpoints(scim):
    config = scim.get("/ServiceProviderConfig").json()
    assert config["patch"]["supported"] is True and config["filter"]["supported"] is True
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    types = scim.get("/ResourceTypes").json()
    assert [entry["id"] for entry in types["Resources"]] == ["User"]
    assert scim.get("/ResourceTypes/User").json()["endpoint"] == "/Users"
    schemas = scim.get("/Schemas").json()
    ids = {entry["id"] for entry in schemas["Resources"]}
    assert "urn:ietf:params:scim:schemas:core:2.0:User" in ids
    user_schema = scim.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User").json()
    emails = next(a for a in user_schema["attributes"] if a["name"] == "emails")
    assert emails["required"] is True
    assert_scim_error(scim.get("/Schemas/nope"), 404)


@pytest.mark.parametrize("path", ["/Groups", "/Nope", "/Users/x/y"])
def test_unknown_paths_are_a_scim_404(scim, path):
    assert_scim_error(scim.get(path), 404)


def test_a_method_not_allowed_is_a_scim_405(scim):
    response = scim.delete("/Users")
    assert_scim_error(response, 405)
    assert response["Allow"] == "GET, POST"


def test_a_body_over_the_limit_is_a_scim_413_and_not_acted_on(scim, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    payload = user_payload("sam@acme.test", displayName="x" * 2000)
    assert_scim_error(scim.post("/Users", payload), 413)
    assert not User.objects.filter(email="sam@acme.test").exists()


def test_scim_takes_the_lean_path(scim, owner, client_for):
    """No session, locale or CSRF machinery: a browser's cookie changes nothing."""
    browser = client_for(owner)
    scim.client.cookies = browser.cookies
    response = scim.get("/Users")
    assert response.status_code == 200
    assert "Set-Cookie" not in response and "Cookie" not in response.get("Vary", "")
    assert response["Content-Security-Policy"].startswith("default-src 'self'")


def test_a_server_error_is_a_scim_500(scim, monkeypatch):
    from scim import provisioning

    def broken(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(provisioning, "create", broken)
    scim.client.raise_request_exception = False
    response = scim.post("/Users", user_payload("sam@acme.test"))
    assert_scim_error(response, 500)


@pytest.mark.parametrize(
    "extra",
    [
        {"userName": "a\u0000b@acme.test"},
        {"displayName": "\u0000"},
        {"externalId": "x" * 300},
        {"displayName": "\ud800"},  # a lone surrogate: JSON escapes one, UTF-8 has none
        {"externalId": "\udc00"},
    ],
)
def test_values_no_column_holds_are_a_400(scim, extra):
    payload = user_payload("sam@acme.test", **extra)
    assert_scim_error(scim.post("/Users", payload), 400, "invalidValue")
    assert not User.objects.filter(email="sam@acme.test").exists()


def test_a_nul_in_a_filter_is_a_400(scim):
    assert_scim_error(scim.get("/Users", {"filter": 'userName eq "a\u0000"'}), 400, "invalidValue")


def test_a_search_body_with_a_lone_surrogate_is_a_400(scim):
    search = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": 'userName eq "\ud800"',
    }
    assert_scim_error(scim.post("/Users/.search", search), 400, "invalidValue")


@pytest.mark.parametrize("start", ["9223372036854775807", "100000000000000000000"])
def test_a_start_index_past_any_end_is_an_empty_page(scim, start):
    create(scim)
    listed = scim.get("/Users", {"startIndex": start})
    assert listed.status_code == 200
    assert (listed.json()["totalResults"], listed.json().get("Resources", [])) == (1, [])


def test_a_member_an_admin_removed_stays_removed_until_deactivated_and_reactivated(
    scim, org, owner
):
    from organizations import services

    created = create(scim)
    services.remove_member(Membership.objects.get(user__email="sam@acme.test"))
    renamed = user_payload("sam@acme.test", displayName="Sam")
    assert scim.put(f"/Users/{created['id']}", renamed).status_code == 200
    assert not Membership.objects.filter(user__email="sam@acme.test", organization=org)
    scim.patch(
        f"/Users/{created['id']}",
        patch_payload({"op": "replace", "path": "active", "value": False}),
    )
    scim.patch(
        f"/Users/{created['id']}", patch_payload({"op": "replace", "path": "active", "value": True})
    )
    assert Membership.objects.filter(user__email="sam@acme.test", organization=org)


def test_every_profile_change_is_logged_and_active_only_as_the_membership(scim, org):
    created = create(scim)
    path = f"/Users/{created['id']}"
    scim.patch(path, patch_payload({"op": "replace", "path": "title", "value": "CTO"}))
    scim.patch(path, patch_payload({"op": "replace", "path": "active", "value": False}))
    updates = AuditEvent.objects.filter(organization=org, action=AuditAction.SCIM_USER_UPDATED)
    assert [event.details["fields"] for event in updates] == [["attributes"]]
    assert (
        AuditEvent.objects.filter(organization=org, action=AuditAction.MEMBER_REMOVED).count() == 1
    )
