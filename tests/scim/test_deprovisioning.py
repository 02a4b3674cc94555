"""Deprovisioning revokes at once: a SCIM deactivation or delete removes the membership and
revokes the person's keys and grants in that organization in one transaction, writes the
audit events, tells the Owners; the next request with any of those keys gets 401."""

import httpx
import pytest
from django.utils import translation

from apikeys import signals as key_signals
from organizations.models import AuditAction, AuditEvent, Membership
from scim import provisioning, tokens
from scim.models import ScimUser
from scim.protocol import PROVIDER, UserResource

from ..calls import mcp, me
from ..oauth.grants import make_grant
from .conftest import patch_payload, user_payload

DEACTIVATE = patch_payload({"op": "replace", "value": {"active": False}})


def provision(scim, email):
    response = scim.post("/Users", user_payload(email))
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_deactivation_revokes_keys_and_grants_and_logs_who(
    scim, org, owner, member, other_org, make_key, mailoutbox, django_capture_on_commit_callbacks
):
    resource_id = provision(scim, member.user.email)
    key = make_key(member)
    grant = make_grant(member)
    elsewhere = Membership.objects.create(user=member.user, organization=other_org)
    kept = make_key(elsewhere)
    with django_capture_on_commit_callbacks(execute=True):
        response = scim.patch(f"/Users/{resource_id}", DEACTIVATE)
    assert response.status_code == 200
    assert not Membership.objects.filter(pk=member.pk).exists()
    key.refresh_from_db()
    grant.refresh_from_db()
    kept.refresh_from_db()
    assert (key.revoke_reason, grant.revoke_reason) == ("member_removed", "member_removed")
    assert kept.revoked_at is None  # their keys elsewhere are theirs still
    removed = AuditEvent.objects.get(organization=org, action=AuditAction.MEMBER_REMOVED)
    assert removed.actor_label == "SCIM: Okta" and removed.target == member.user.email
    revoked = AuditEvent.objects.get(organization=org, action=AuditAction.KEY_AUTO_REVOKED)
    assert revoked.actor_label == "SCIM: Okta"
    # The Owners hear of it (the removed person hears of their keys, as ever).
    to_owner = [mail for mail in mailoutbox if mail.to == [owner.user.email]]
    assert len(to_owner) == 1
    assert "member@acme.test" in to_owner[0].subject and "Okta" in to_owner[0].body


def test_the_owners_notice_is_in_their_language(
    scim, owner, member, mailoutbox, django_capture_on_commit_callbacks
):
    owner.user.language = "ja"
    owner.user.save(update_fields=["language"])
    resource_id = provision(scim, member.user.email)
    with django_capture_on_commit_callbacks(execute=True):
        scim.delete(f"/Users/{resource_id}")
    [notice] = [mail for mail in mailoutbox if mail.to == [owner.user.email]]
    with translation.override("ja"):
        assert translation.gettext("The audit log has the details:") in notice.body
    assert "The audit log has the details:" not in notice.body


def test_a_failure_in_the_middle_rolls_back_membership_and_keys(
    scim, org, member, make_key, monkeypatch
):
    resource_id = provision(scim, member.user.email)
    key = make_key(member)

    def broken(*args, **kwargs):
        raise RuntimeError("the grants' table is gone")

    # After the keys' revocation, inside the receiver: the whole removal must undo.
    monkeypatch.setattr(key_signals.grants, "revoke_member_grants", broken)
    token = tokens.authenticate(scim.headers["Authorization"].removeprefix("Bearer "))
    scim_user = ScimUser.objects.get(pk=resource_id)
    with PROVIDER:
        resource = UserResource.model_validate(user_payload(member.user.email, active=False))
    with pytest.raises(RuntimeError):
        provisioning.replace(token, scim_user, resource)
    assert Membership.objects.filter(pk=member.pk).exists()
    key.refresh_from_db()
    assert key.revoked_at is None
    assert ScimUser.objects.get(pk=resource_id).active
    assert not AuditEvent.objects.filter(organization=org, action=AuditAction.MEMBER_REMOVED)


def test_the_removed_persons_console_session_is_refused_there_at_once(
    scim, member, other_org, client_for
):
    """Sessions are the person's, not the organization's: theirs goes on for their other
    organizations, and this one's pages answer 404 from the next request."""
    Membership.objects.create(user=member.user, organization=other_org)
    browser = client_for(member)
    assert browser.get("/o/acme/api-keys/").status_code == 200
    scim.patch(f"/Users/{provision(scim, member.user.email)}", DEACTIVATE)
    assert browser.get("/o/acme/api-keys/").status_code == 404
    assert browser.get("/o/globex/api-keys/").status_code == 200


def test_keys_answer_401_on_the_next_request_to_the_real_servers(
    server, transactional_db, org, owner, member, make_key
):
    """The production servers (tests/servers.py): the API and the MCP server."""
    api_key, mcp_key = make_key(member), make_key(member)
    _token, raw = tokens.create_token(org, "Okta", actor=None)
    scim = httpx.Client(
        base_url=f"{server.url}/scim/v2",
        headers={"Authorization": f"Bearer {raw}", "Content-Type": "application/scim+json"},
        timeout=10,
    )
    created = scim.post("/Users", json=user_payload(member.user.email))
    assert created.status_code == 201, created.text
    assert me(server.url, api_key.plaintext).status_code == 200
    assert mcp(server.url, mcp_key.plaintext).status_code == 200
    deactivated = scim.patch(f"/Users/{created.json()['id']}", json=DEACTIVATE)
    assert deactivated.status_code == 200
    assert deactivated.headers["content-type"] == "application/scim+json"
    assert me(server.url, api_key.plaintext).status_code == 401
    assert mcp(server.url, mcp_key.plaintext).status_code == 401
    # Reactivated: a Member again, and the keys stay dead.
    back = scim.patch(
        f"/Users/{created.json()['id']}",
        json=patch_payload({"op": "replace", "path": "active", "value": True}),
    )
    assert back.json()["active"] is True
    assert me(server.url, api_key.plaintext).status_code == 401
    assert Membership.objects.filter(user=member.user, organization=org).exists()


def test_deleting_a_never_active_user_only_forgets_it(scim, org):
    resource_id = provision(scim, "gone@acme.test")
    scim.patch(f"/Users/{resource_id}", DEACTIVATE)
    assert scim.delete(f"/Users/{resource_id}").status_code == 204
    assert not ScimUser.objects.filter(pk=resource_id).exists()
    events = AuditEvent.objects.filter(organization=org, action=AuditAction.SCIM_USER_DELETED)
    assert events.get().actor_label == "SCIM: Okta"
