"""Tokens as the MCP server sees them: accepted only while the grant is active, its
person active and still a member; bound to the MCP server's OAuth path as their audience;
short-lived; refresh tokens rotated, and a rotated one that comes back ends the grant."""

from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import AccessToken, RefreshToken

from oauth import services, tokens
from oauth.models import AuthorizedApp, RevokeReason
from organizations.models import AuditAction, AuditEvent, Membership
from tests.oauth import flow
from tests.oauth.grants import make_grant


def whoami(http, token):
    return flow.mcp_post(http, token, "tools/call", {"name": "whoami", "arguments": {}})


def test_a_granted_token_calls_the_mcp_server_as_its_person(server, http, member, address):
    granted = flow.grant(server, http, member)
    response = whoami(http, granted.access_token)
    assert response.status_code == 200, response.text
    me = response.json()["result"]["structuredContent"]
    assert me["user_email"] == member.user.email
    assert me["organization_slug"] == member.organization.slug
    assert me["key_name"] == "Test client"
    grant = AuthorizedApp.objects.get()
    assert grant.is_active and grant.last_used_at is not None
    assert grant.last_used_ip == address


def test_no_token_is_stored_in_plaintext(server, http, member):
    granted = flow.grant(server, http, member)
    for model in (AccessToken, RefreshToken):
        for row in model.objects.all():
            assert row.token == ""
    assert AccessToken.objects.filter(token_checksum=tokens.digest(granted.access_token)).exists()


def test_an_expired_token_is_refused(server, http, member):
    granted = flow.grant(server, http, member)
    AccessToken.objects.filter(token_checksum=tokens.digest(granted.access_token)).update(
        expires=timezone.now() - timedelta(seconds=1)
    )
    assert whoami(http, granted.access_token).status_code == 401


def test_a_token_for_another_audience_is_refused(server, http, member):
    granted = flow.grant(server, http, member)
    AccessToken.objects.filter(token_checksum=tokens.digest(granted.access_token)).update(
        resource=["https://elsewhere.example/mcp"]
    )
    assert whoami(http, granted.access_token).status_code == 401


def test_tokens_and_keys_each_work_only_at_their_own_path(server, http, member, make_key):
    granted = flow.grant(server, http, member)
    key = make_key(member)
    assert whoami(http, key.plaintext).status_code == 401  # a key at the OAuth path
    at_key_path = http.post(
        "/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
        headers={
            "Accept": "application/json, text/event-stream",
            "Authorization": f"Bearer {granted.access_token}",
        },
    )
    assert at_key_path.status_code == 401


def test_the_registration_token_is_no_access_token(server, http, member):
    registration = flow.register(http)
    assert whoami(http, registration["registration_access_token"]).status_code == 401


def test_refresh_rotates_both_tokens(server, http, member):
    granted = flow.grant(server, http, member)
    response = flow.refresh(http, granted.client_id, granted.refresh_token)
    assert response.status_code == 200, response.text
    renewed = response.json()
    assert renewed["refresh_token"] != granted.refresh_token
    assert whoami(http, renewed["access_token"]).status_code == 200
    assert whoami(http, granted.access_token).status_code == 401  # the old one is gone
    assert AuthorizedApp.objects.get().is_active


def test_a_reused_refresh_token_ends_the_whole_grant(server, http, member):
    granted = flow.grant(server, http, member)
    renewed = flow.refresh(http, granted.client_id, granted.refresh_token).json()

    replay = flow.refresh(http, granted.client_id, granted.refresh_token)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    grant = AuthorizedApp.objects.get()
    assert grant.revoke_reason == RevokeReason.TOKEN_REUSED
    assert whoami(http, renewed["access_token"]).status_code == 401
    assert flow.refresh(http, granted.client_id, renewed["refresh_token"]).status_code == 400
    event = AuditEvent.objects.get(action=AuditAction.APP_REVOKED)
    assert event.details == {"reason": "token_reused"}


def test_a_revoked_grant_is_refused_on_the_next_request(server, http, member):
    granted = flow.grant(server, http, member)
    assert whoami(http, granted.access_token).status_code == 200
    assert services.revoke(AuthorizedApp.objects.get(), member.user, RevokeReason.BY_OWNER)
    assert whoami(http, granted.access_token).status_code == 401
    assert flow.refresh(http, granted.client_id, granted.refresh_token).status_code == 400


def test_removing_the_member_revokes_their_grants_at_once(server, http, member):
    granted = flow.grant(server, http, member)
    Membership.objects.filter(pk=member.pk).delete()
    grant = AuthorizedApp.objects.get()
    assert grant.revoke_reason == RevokeReason.MEMBER_REMOVED
    assert whoami(http, granted.access_token).status_code == 401
    assert AuditEvent.objects.filter(action=AuditAction.APP_REVOKED).exists()


def test_a_token_dies_with_the_membership_even_without_the_receiver(server, http, member):
    """Checked on every request, as for keys: a membership gone by a raw delete too."""
    granted = flow.grant(server, http, member)
    Membership.objects.filter(pk=member.pk)._raw_delete(Membership.objects.db)
    assert whoami(http, granted.access_token).status_code == 401


def test_a_deactivated_person_is_refused(server, http, member):
    granted = flow.grant(server, http, member)
    member.user.is_active = False
    member.user.save()
    assert whoami(http, granted.access_token).status_code == 401


def test_a_demoted_admins_grant_loses_organization_administration(server, http, admin):
    granted = flow.grant(server, http, admin, scopes=("mcp:read", "mcp:write", "org:admin"))
    call = {"name": "list_organization_api_keys", "arguments": {}}
    assert flow.mcp_post(http, granted.access_token, "tools/call", call).status_code == 200
    Membership.objects.filter(pk=admin.pk).update(role="member")
    refused = flow.mcp_post(http, granted.access_token, "tools/call", call)
    assert refused.status_code == 403
    assert refused.json()["error"] == "insufficient_scope"
    assert "resource_metadata=" in refused.headers["www-authenticate"]


def test_a_read_only_grant_cannot_delete(server, http, member, make_key):
    granted = flow.grant(server, http, member, scopes=("mcp:read",))
    key = make_key(member)
    call = {"name": "delete_my_api_key", "arguments": {"key_id": key.pk}}
    refused = flow.mcp_post(http, granted.access_token, "tools/call", call)
    assert refused.status_code == 403
    assert 'scope="mcp:write"' in refused.headers["www-authenticate"]
    key.refresh_from_db()
    assert key.revoked_at is None


@pytest.mark.parametrize(
    "change, error",
    [
        ({"code_verifier": "wrong-verifier-" + "x" * 40}, "invalid_grant"),
        ({"redirect_uri": "http://127.0.0.1:9/other"}, "invalid_request"),
        ({"resource": "https://elsewhere.example/mcp"}, "invalid_target"),
    ],
)
def test_a_code_is_exchanged_only_as_it_was_issued(server, http, member, change, error):
    client_id, code, verifier = flow.code_for(server, http, member)
    exchanged = flow.exchange(http, client_id, code, verifier, **change)
    assert exchanged.status_code in (400, 401)
    assert exchanged.json()["error"] == error
    assert not AccessToken.objects.exclude(scope="oauth2_provider:registration").exists()


def test_a_code_works_once(server, http, member):
    client_id, code, verifier = flow.code_for(server, http, member)
    assert flow.exchange(http, client_id, code, verifier).status_code == 200
    assert flow.exchange(http, client_id, code, verifier).status_code == 400


def test_a_code_of_a_member_removed_before_the_exchange_is_refused(server, http, member):
    client_id, code, verifier = flow.code_for(server, http, member)
    Membership.objects.filter(pk=member.pk).delete()
    exchanged = flow.exchange(http, client_id, code, verifier)
    assert exchanged.status_code == 400


def test_a_token_is_checked_in_one_query(member, django_assert_num_queries):
    grant = make_grant(member)
    token = "t" * 32
    AccessToken.objects.filter(pk=grant.access_token_id).update(token_checksum=tokens.digest(token))
    with django_assert_num_queries(1):
        context = tokens.authenticate(token)
    assert context.grant_id == grant.pk and context.role == member.role
    with django_assert_num_queries(1):
        assert tokens.authenticate("u" * 32) is None
    with django_assert_num_queries(0):
        assert tokens.authenticate("x" * 300) is None


def test_changing_client_names_cannot_turn_every_grant_request_into_a_write(member):
    # As for keys (apikeys.services.record_use): a caller alternating names gets a few
    # renames a minute written, not one per request.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from infra.limits import rate

    CLIENT_RENAMES_PER_MINUTE = rate("client_renames").count

    grant = make_grant(member)
    token = "t" * 32
    AccessToken.objects.filter(pk=grant.access_token_id).update(token_checksum=tokens.digest(token))
    tokens.record_use(tokens.authenticate(token), ip="127.0.0.1", user_agent="", client_info="a 1")
    with CaptureQueriesContext(connection) as queries:
        for number in range(20):
            context = tokens.authenticate(token)  # each request checks anew
            tokens.record_use(context, ip="127.0.0.1", user_agent="", client_info=f"n {number % 2}")
    updates = [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == CLIENT_RENAMES_PER_MINUTE
    grant.refresh_from_db()
    assert grant.last_used_client in ("n 0", "n 1")
