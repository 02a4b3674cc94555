"""The SCIM tokens in the organization's Settings: Owners only, a fresh sign-in, shown
once; and the management command."""

import io

import pytest
from django.core.management import CommandError, call_command

from organizations.models import AuditAction, AuditEvent
from scim import tokens
from scim.models import ScimToken
from sso import policy as sso_policy
from sso import services as sso_services

from .conftest import Scim


@pytest.mark.parametrize(
    ("role", "expected"),
    [("owner", 200), ("admin", 403), ("member", 403), ("outsider", 404), ("anonymous", 302)],
)
def test_only_owners_create_scim_tokens(team, client_for, role, expected):
    who = None if role == "anonymous" else team[role]
    response = client_for(who).post("/o/acme/settings/scim-tokens/", {"name": "Okta"})
    assert response.status_code == expected
    assert ScimToken.objects.filter(organization__slug="acme").exists() == (role == "owner")


@pytest.mark.parametrize(
    ("role", "expected"),
    [("owner", 302), ("admin", 403), ("member", 403), ("outsider", 404), ("anonymous", 302)],
)
def test_only_owners_revoke_scim_tokens(team, client_for, role, expected):
    token, raw = tokens.create_token(team["owner"].organization, "Okta", actor=None)
    who = None if role == "anonymous" else team[role]
    response = client_for(who).post(f"/o/acme/settings/scim-tokens/{token.pk}/revoke/")
    assert response.status_code == expected
    token.refresh_from_db()
    assert (token.revoked_at is not None) == (role == "owner")
    assert (Scim(raw).get("/Users").status_code == 401) == (role == "owner")


def test_another_organizations_token_cant_be_revoked_from_here(team, client_for, other_org):
    theirs, _raw = tokens.create_token(other_org, "Globex IdP", actor=None)
    response = client_for(team["owner"]).post(f"/o/acme/settings/scim-tokens/{theirs.pk}/revoke/")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_the_token_is_shown_once_then_only_its_hint(owner, client_for):
    client = client_for(owner)
    created = client.post("/o/acme/settings/scim-tokens/", {"name": "Okta"})
    assert "no-store" in created["Cache-Control"]
    token = ScimToken.objects.get(organization__slug="acme")
    raw = created.context["plaintext"]
    assert raw in created.text and tokens.authenticate(raw).pk == token.pk
    assert "/scim/v2/" in created.text
    settings_page = client.get("/o/acme/settings/").text
    assert raw not in settings_page
    assert token.hint in settings_page and "Okta" in settings_page
    event = AuditEvent.objects.get(action=AuditAction.SCIM_TOKEN_CREATED)
    assert event.actor_id == owner.user_id and raw not in str(event.details) + event.target


def test_where_sso_is_required_a_token_needs_a_session_through_it(owner, client_for):
    """Its break-glass Owner's password session opens Settings, but makes no token: one
    that adds and removes members is a credential, as a key is."""
    connection = sso_services.save_oidc(
        owner.organization, issuer="http://127.0.0.1:9", client_id="c", client_secret="s"
    )
    sso_services.set_require_sso(connection, True, owner)
    client = client_for(owner)
    refused = client.post("/o/acme/settings/scim-tokens/", {"name": "Backdoor"})
    assert refused.status_code == 403
    assert "Acme requires single sign-on" in refused.text
    assert "scim_gns_" not in refused.text
    assert not ScimToken.objects.exists()
    session = client.session
    session[sso_policy.SESSION_KEY] = [owner.organization_id]
    session.save()
    assert client.post("/o/acme/settings/scim-tokens/", {"name": "Okta"}).status_code == 200
    assert ScimToken.objects.get().name == "Okta"


def test_a_token_without_a_name_is_a_400(owner, client_for):
    response = client_for(owner).post("/o/acme/settings/scim-tokens/", {"name": "  "})
    assert response.status_code == 400
    assert "This field is required." in response.text
    assert not ScimToken.objects.exists()


def test_the_settings_page_lists_tokens_with_last_use_and_not_revoked_ones(owner, client_for):
    _used, raw = tokens.create_token(owner.organization, "Okta", actor=None)
    gone, _raw = tokens.create_token(owner.organization, "Old Entra", actor=None)
    tokens.revoke_token(gone, actor=owner.user)
    tokens.authenticate(raw)
    page = client_for(owner).get("/o/acme/settings/").text
    assert "Okta" in page and "Old Entra" not in page
    assert "Never" not in page.split('id="scim"')[1]
    assert AuditEvent.objects.filter(action=AuditAction.SCIM_TOKEN_REVOKED).count() == 1


def test_a_stale_sign_in_confirms_before_a_token_is_made(owner, client_for):
    response = client_for(owner, minutes_ago=60).post(
        "/o/acme/settings/scim-tokens/", {"name": "Okta"}
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    assert not ScimToken.objects.exists()


def test_the_command_prints_the_token_alone_on_its_last_line(org):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_scim_token", "acme", "--name", "Entra", stdout=out, stderr=err)
    raw = out.getvalue().strip().splitlines()[-1]
    token = tokens.authenticate(raw)
    assert token.name == "Entra" and token.organization == org
    assert raw not in err.getvalue()
    assert token.created_by is None


def test_the_command_refuses_an_unknown_organization(db):
    with pytest.raises(CommandError, match="No organization"):
        call_command("create_scim_token", "nope", stdout=io.StringIO(), stderr=io.StringIO())


def test_the_settings_section_in_japanese(owner, client_for):
    page = client_for(owner).get("/o/acme/settings/", HTTP_ACCEPT_LANGUAGE="ja").text
    assert "SCIM プロビジョニング" in page and "SCIM トークンを作成" in page


def test_the_audit_log_names_the_token_as_the_actor(scim, owner, client_for):
    from .conftest import user_payload

    assert scim.post("/Users", user_payload("sam@acme.test")).status_code == 201
    page = client_for(owner).get("/o/acme/audit/").text
    assert "SCIM: Okta" in page
    export = b"".join(client_for(owner).get("/o/acme/audit/export.csv").streaming_content)
    assert "SCIM: Okta" in export.decode()
