"""The consent page: signed in, a fresh sign-in, the organization and the scopes the
person chooses (never beyond their role), two-factor where the organization requires it,
Deny, CSRF, and refusals that never send the browser to a client that isn't proven."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings

from oauth.models import AuthorizedApp
from organizations.models import AuditAction, AuditEvent
from sso import policy as sso_policy
from sso import services as sso_services
from tests.factories import MembershipFactory
from tests.oauth import flow


def params(client_id, **extra):
    return flow.authorize_params(client_id, flow.pkce()[1], **extra)


def test_anonymous_people_are_sent_to_sign_in_and_back(server, client_id):
    import httpx

    with httpx.Client(base_url=server.url, timeout=10) as anonymous:
        response = anonymous.get("/oauth/authorize/", params=params(client_id))
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith("/accounts/login/?next=")
    assert location.startswith("/accounts/login/?next=/oauth/authorize/%3Fresponse_type")


def test_a_stale_session_signs_in_again_first(server, member, client_id):
    with flow.browser_for(server, member.user, minutes_ago=30) as browser:
        response = browser.get("/oauth/authorize/", params=params(client_id))
    assert response.status_code == 302
    assert "/accounts/reauthenticate/" in response.headers["location"]


def test_the_page_names_the_client_its_redirect_host_and_what_it_may_do(server, member, client_id):
    with flow.browser_for(server, member.user) as browser:
        page = browser.get("/oauth/authorize/", params=params(client_id, scope="mcp:read"))
    assert page.status_code == 200
    assert "Authorize Test client" in page.text
    assert "127.0.0.1:9" in page.text
    assert 'value="mcp:read"' in page.text
    assert 'value="mcp:write"' not in page.text  # not asked for
    assert 'value="org:admin"' not in page.text
    assert member.organization.name in page.text
    # The page's form may lead to the client's redirect, and nowhere else.
    assert "form-action 'self' http://127.0.0.1:9" in page.headers["content-security-policy"]


def test_consent_grants_what_was_chosen_and_is_audited(server, member, client_id):
    with flow.browser_for(server, member.user) as browser:
        response = flow.consent(
            browser,
            params(client_id),
            organization=member.organization,
            scopes=["mcp:read"],
        )
    query = parse_qs(urlsplit(flow.code_from(response) and response.headers["location"]).query)
    assert query["iss"] == [settings.OAUTH_ISSUER]
    grant = AuthorizedApp.objects.get()
    assert (grant.user, grant.organization, grant.scopes) == (
        member.user,
        member.organization,
        "mcp:read",
    )
    assert not grant.is_active  # until the code is exchanged
    event = AuditEvent.objects.get(action=AuditAction.APP_AUTHORIZED)
    assert event.target == "Test client"
    assert event.details["scopes"] == "mcp:read"


@pytest.mark.parametrize(
    "choice, scope, scopes, reason",
    [
        ("own", "mcp:read org:admin", ["mcp:read", "org:admin"], "Organization admin needs the"),
        ("own", "mcp:read mcp:write", ["mcp:write"], "Read access is needed"),
        ("other", "mcp:read", ["mcp:read"], "Choose one of your organizations."),
    ],
)
def test_a_choice_beyond_the_person_shows_the_form_again_and_grants_nothing(
    server, member, outsider, client_id, choice, scope, scopes, reason
):
    organization = member.organization if choice == "own" else outsider.organization
    response = flow.consent_as(
        server,
        member.user,
        params(client_id, scope=scope),
        organization=organization,
        scopes=scopes,
    )
    assert response.status_code == 200
    assert reason in response.text
    assert not AuthorizedApp.objects.exists()


def test_an_admin_may_grant_organization_administration(server, admin, client_id):
    response = flow.consent_as(
        server,
        admin.user,
        params(client_id, scope="mcp:read org:admin"),
        organization=admin.organization,
        scopes=["mcp:read", "org:admin"],
    )
    flow.code_from(response)
    assert AuthorizedApp.objects.get().scopes == "mcp:read org:admin"


def test_someone_in_several_organizations_picks_one(server, member, other_org, client_id):
    MembershipFactory(user=member.user, organization=other_org)
    with flow.browser_for(server, member.user) as browser:
        page = browser.get("/oauth/authorize/", params=params(client_id))
        assert member.organization.name in page.text and other_org.name in page.text
        response = flow.consent(
            browser, params(client_id), organization=other_org, scopes=["mcp:read"]
        )
    flow.code_from(response)
    assert AuthorizedApp.objects.get().organization == other_org


def test_an_organization_that_requires_two_factor_needs_it_first(server, member, client_id):
    member.organization.require_two_factor = True
    member.organization.save()
    with flow.browser_for(server, member.user) as browser:
        page = browser.get("/oauth/authorize/", params=params(client_id))
        assert "requires two-factor authentication" in page.text
        response = flow.consent(
            browser, params(client_id), organization=member.organization, scopes=["mcp:read"]
        )
    assert response.status_code == 200
    assert not AuthorizedApp.objects.exists()


@pytest.mark.parametrize("who", ["owner", "admin"])  # the owner: its break-glass Owner
def test_an_organization_that_requires_sso_needs_a_session_through_it(server, team, client_id, who):
    """An app authorized there is a credential made there, as a key is."""
    organization = team["owner"].organization
    connection = sso_services.save_oidc(
        organization, issuer="http://127.0.0.1:9", client_id="c", client_secret="s"
    )
    sso_services.set_require_sso(connection, True, team["owner"])
    asked = ["mcp:read", "mcp:write", "org:admin"]
    with flow.browser_for(server, team[who].user) as browser:
        page = browser.get("/oauth/authorize/", params=params(client_id, scope=" ".join(asked)))
        assert "Acme requires single sign-on" in page.text
        assert f'value="{organization.pk}"' not in page.text  # not offered
        data = flow.form_fields(page.text) | {
            "organization": str(organization.pk),
            "scopes": asked,
            "allow": "on",
        }
        response = browser.post("/oauth/authorize/", data=data, headers={"Referer": str(page.url)})
    assert response.status_code == 200  # the page again, with its error
    assert not AuthorizedApp.objects.exists()
    through_sso = {sso_policy.SESSION_KEY: [organization.pk]}
    with flow.browser_for(server, team[who].user, session=through_sso) as browser:
        response = flow.consent(
            browser, params(client_id), organization=organization, scopes=["mcp:read"]
        )
    flow.code_from(response)
    assert AuthorizedApp.objects.get().organization == organization


def test_deny_sends_the_client_access_denied_and_grants_nothing(server, member, client_id):
    with flow.browser_for(server, member.user) as browser:
        response = flow.consent(
            browser,
            params(client_id),
            organization=member.organization,
            scopes=["mcp:read"],
            allow=False,
        )
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["state-123"]
    assert not AuthorizedApp.objects.exists()


def test_consent_without_the_csrf_token_is_refused(server, member, client_id):
    with flow.browser_for(server, member.user) as browser:
        page = browser.get("/oauth/authorize/", params=params(client_id))
        data = flow.form_fields(page.text)
        data.pop("csrfmiddlewaretoken")
        data.update(organization=str(member.organization.pk), scopes=["mcp:read"], allow="on")
        response = browser.post("/oauth/authorize/", data=data)
    assert response.status_code == 403
    assert not AuthorizedApp.objects.exists()


def test_an_unregistered_redirect_uri_gets_a_page_never_a_redirect(server, member, client_id):
    with flow.browser_for(server, member.user) as browser:
        response = browser.get(
            "/oauth/authorize/",
            params=params(client_id, redirect_uri="https://attacker.example/callback"),
        )
    assert response.status_code == 400
    assert "This app can't be authorized" in response.text
    assert "location" not in response.headers


def test_an_unknown_client_gets_a_page(server, http, member):
    with flow.browser_for(server, member.user) as browser:
        response = browser.get("/oauth/authorize/", params=params("no-such-client"))
    assert response.status_code in (400, 401)
    assert "This app can't be authorized" in response.text


def test_a_request_for_another_resource_is_refused(server, member, client_id):
    with flow.browser_for(server, member.user) as browser:
        response = browser.get(
            "/oauth/authorize/",
            params=params(client_id, resource="https://elsewhere.example/mcp"),
        )
    assert response.status_code == 400
    assert "another server" in response.text


@pytest.mark.parametrize(
    "pkce",
    [
        {"code_challenge": "", "code_challenge_method": ""},
        {"code_challenge_method": "plain"},
    ],
)
def test_pkce_is_required_and_only_s256(server, member, client_id, pkce):
    with flow.browser_for(server, member.user) as browser:
        response = browser.get("/oauth/authorize/", params=params(client_id, **pkce))
    # Before the person has seen anything, an error is our page, never a redirect.
    assert response.status_code == 400
    assert "This app can't be authorized" in response.text
    assert "location" not in response.headers
    assert not AuthorizedApp.objects.exists()


def test_an_admin_is_offered_organization_administration_unticked(server, admin, client_id):
    """Clients ask for what the 401 and the metadata suggest (the MCP server's default);
    an Admin or Owner may give organization administration too, if they choose to."""
    with flow.browser_for(server, admin.user) as browser:
        page = browser.get("/oauth/authorize/", params=params(client_id))
    assert page.status_code == 200
    assert 'value="org:admin"' in page.text
    checked = re.findall(r'<input[^>]*value="([a-z:]+)"[^>]*checked', page.text)
    assert "mcp:read" in checked and "org:admin" not in checked


def test_a_member_is_not_offered_organization_administration(server, member, client_id):
    with flow.browser_for(server, member.user) as browser:
        page = browser.get("/oauth/authorize/", params=params(client_id))
    assert 'value="mcp:read"' in page.text and 'value="org:admin"' not in page.text


def test_a_post_grants_nothing_the_page_did_not_offer(server, admin, client_id):
    """Editing the form's hidden request (its `scope`) changes nothing: what the page
    offered travels signed with it."""
    with flow.browser_for(server, admin.user) as browser:
        asked = params(client_id, scope="mcp:read")
        page = browser.get("/oauth/authorize/", params=asked)
        data = flow.form_fields(page.text)
        data.update(
            scope="mcp:read mcp:write",  # what the client never asked for
            organization=str(admin.organization.pk),
            scopes=["mcp:read", "mcp:write"],
            allow="on",
        )
        refused = browser.post("/oauth/authorize/", data=data, headers={"Referer": str(page.url)})
        assert refused.status_code == 200  # the form again, with why
        assert not AuthorizedApp.objects.exists()
        data["offered"] = "forged"
        data["scopes"] = ["mcp:read"]
        forged = browser.post("/oauth/authorize/", data=data, headers={"Referer": str(page.url)})
        assert forged.status_code == 200
        assert not AuthorizedApp.objects.exists()


def test_a_grant_without_organization_administration_is_asked_to_step_up(server, http, member):
    """The organization tools answer 403 insufficient_scope naming org:admin, at the
    OAuth path with where its metadata is, so clients that implement the step-up ask
    again."""
    granted = flow.grant(server, http, member)
    response = flow.mcp_post(
        http, granted.access_token, "tools/call", {"name": "list_organization_api_keys"}
    )
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="org:admin"' in challenge
    assert "resource_metadata=" in challenge
