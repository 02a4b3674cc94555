"""The SSO section of Settings: only Owners, after a fresh sign-in (tests/accounts'
stale-session test covers that for every action), and the client secret never shown."""

import json

import pytest
from allauth.socialaccount.models import SocialAccount, SocialApp

from organizations.models import AuditEvent
from sso.models import Connection, Domain

from .idp import CLIENT_ID, CLIENT_SECRET

SETTINGS = "/o/acme/settings/"
ACTIONS = [
    ("connection/", {"issuer": "http://127.0.0.1:9", "client_id": "x", "client_secret": "y"}),
    ("disconnect/", {}),
    ("require/", {"require_sso": "on"}),
    ("domains/", {"name": "acme.test", "mailbox": "admin"}),
    ("domains/{domain}/verify/", {"code": "0000-0000-0000"}),
    ("domains/{domain}/resend/", {"mailbox": "admin"}),
    ("domains/{domain}/remove/", {}),
]


def connect(client, issuer, secret=CLIENT_SECRET, client_id=CLIENT_ID):
    return client.post(
        SETTINGS + "sso/connection/",
        {"issuer": issuer, "client_id": client_id, "client_secret": secret},
    )


def test_an_owner_connects_an_openid_provider_found_by_discovery(owner, client_for, idp):
    response = connect(client_for(owner), idp.issuer)
    assert response.status_code == 302
    connection = Connection.objects.select_related("app").get(organization=owner.organization)
    assert connection.app.provider == "openid_connect"
    assert connection.app.settings["server_url"] == idp.issuer
    assert (connection.app.client_id, connection.app.secret) == (CLIENT_ID, CLIENT_SECRET)
    assert AuditEvent.objects.filter(details__policy="sso").exists()
    page = client_for(owner).get(SETTINGS).text
    assert "Redirect URI to register at your provider" in page
    assert f"/accounts/oidc/{connection.app.provider_id}/login/callback/" in page
    assert CLIENT_SECRET not in page


def test_the_secret_is_kept_unless_replaced(owner, client_for, idp):
    client = client_for(owner)
    connect(client, idp.issuer)
    connect(client, idp.issuer, secret="", client_id="renamed")
    app = SocialApp.objects.get()
    assert (app.client_id, app.secret) == ("renamed", CLIENT_SECRET)
    connect(client, idp.issuer, secret="a-new-secret")
    assert SocialApp.objects.get().secret == "a-new-secret"
    assert "a-new-secret" not in client.get(SETTINGS).text


def test_a_first_connection_needs_a_secret(owner, client_for, idp):
    response = connect(client_for(owner), idp.issuer, secret="")
    assert response.status_code == 400
    assert "Enter the client secret." in response.text
    assert not Connection.objects.exists()


def test_an_issuer_without_discovery_is_refused_with_a_message(owner, client_for, closed_port):
    response = connect(client_for(owner), closed_port)
    assert response.status_code == 400
    assert "No OpenID discovery document" in response.text
    assert not SocialApp.objects.exists()


def test_an_issuer_that_hangs_is_refused_after_the_timeout(
    owner, client_for, silent_server, settings
):
    settings.SOCIALACCOUNT_REQUESTS_TIMEOUT = 0.5
    response = connect(client_for(owner), silent_server)
    assert response.status_code == 400
    assert "did not answer in time" in response.text


def test_an_issuer_that_calls_itself_otherwise_is_refused(owner, client_for, idp):
    response = connect(client_for(owner), idp.issuer.replace("127.0.0.1", "localhost"))
    assert response.status_code == 400
    assert f"calls itself {idp.issuer}" in response.text


def test_require_sso_names_a_break_glass_owner(owner, client_for, connection):
    client = client_for(owner)
    response = client.post(SETTINGS + "sso/require/", {"require_sso": "on"})
    assert response.status_code == 400
    assert "Choose the Owner who may still sign in without SSO." in response.text
    response = client.post(
        SETTINGS + "sso/require/", {"require_sso": "on", "break_glass": owner.pk}
    )
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.require_sso and connection.break_glass == owner.user


def test_a_break_glass_owner_must_be_an_owner_here(owner, member, outsider, client_for, connection):
    for someone in (member, outsider):
        response = client_for(owner).post(
            SETTINGS + "sso/require/", {"require_sso": "on", "break_glass": someone.pk}
        )
        assert response.status_code == 400
    connection.refresh_from_db()
    assert not connection.require_sso


def test_disconnecting_removes_the_app_and_its_links(owner, member, client_for, connection):
    SocialAccount.objects.create(user=member.user, provider=connection.app.provider_id, uid="m")
    assert client_for(owner).post(SETTINGS + "sso/disconnect/").status_code == 302
    assert not Connection.objects.exists()
    assert not SocialApp.objects.exists()
    assert not SocialAccount.objects.exists()


@pytest.mark.parametrize(("path", "data"), ACTIONS)
@pytest.mark.parametrize(
    ("who", "status"), [("admin", 403), ("member", 403), ("outsider", 404), (None, 302)]
)
def test_only_owners_change_sso(team, client_for, connection, path, data, who, status):
    domain = Domain.objects.create(organization=connection.organization, name="acme.test")
    client = client_for(team[who] if who else None)
    response = client.post(SETTINGS + "sso/" + path.format(domain=domain.pk), data)
    assert response.status_code == status
    if who is None:
        assert response["Location"].startswith("/accounts/login/")
    connection.refresh_from_db()
    assert connection.app.settings["server_url"] == "http://127.0.0.1:9"
    assert not connection.require_sso
    assert Domain.objects.get(pk=domain.pk).verified_at is None


@pytest.mark.parametrize("path", [path for path, _ in ACTIONS])
def test_the_actions_refuse_get(owner, client_for, connection, path):
    domain = Domain.objects.create(organization=connection.organization, name="acme.test")
    response = client_for(owner).get(SETTINGS + "sso/" + path.format(domain=domain.pk))
    assert response.status_code == 405


def test_another_organizations_domain_is_not_found(owner, outsider, client_for):
    theirs = Domain.objects.create(organization=outsider.organization, name="globex.test")
    response = client_for(owner).post(SETTINGS + f"sso/domains/{theirs.pk}/remove/")
    assert response.status_code == 404
    assert Domain.objects.filter(pk=theirs.pk).exists()


def test_the_audit_log_says_what_changed_without_the_secret(owner, client_for, idp):
    client = client_for(owner)
    connect(client, idp.issuer)
    connect(client, idp.issuer, secret="replaced-secret")
    client.post(SETTINGS + "sso/require/", {"require_sso": "on", "break_glass": owner.pk})
    client.post(SETTINGS + "sso/domains/", {"name": "acme.test", "mailbox": "admin"})
    page = client.get("/o/acme/audit/").text
    assert f"connected to {idp.issuer}" in page
    assert f"changed: {idp.issuer} · client secret replaced" in page
    assert "SSO required; break-glass Owner: owner@acme.test" in page
    assert "acme.test added" in page
    assert CLIENT_SECRET not in page and "replaced-secret" not in page


@pytest.mark.parametrize(
    "issuer",
    [
        "http://127.0.0.1:9/admin/internal?q=",  # the query would swallow the discovery path
        "https://login.acme.test/#x",
        "https://someone@login.acme.test",
        "ftp://login.acme.test",
    ],
)
def test_an_issuer_is_a_scheme_a_host_and_a_path(owner, client_for, issuer):
    response = connect(client_for(owner), issuer)
    assert response.status_code == 400
    assert "Enter a valid URL" in response.text
    assert not SocialApp.objects.exists()


def test_a_document_naming_something_else_than_an_issuer_is_not_echoed(
    owner, client_for, document_server
):
    document = {
        "issuer": "internal-secret-value",
        "authorization_endpoint": "x",
        "token_endpoint": "x",
        "jwks_uri": "x",
    }
    response = connect(client_for(owner), document_server(json.dumps(document).encode()))
    assert response.status_code == 400
    assert "names another issuer" in response.text
    assert "internal-secret-value" not in response.text


def test_a_provider_that_never_stops_sending_is_cut_off(owner, client_for, document_server):
    response = connect(client_for(owner), document_server(endless=True))
    assert response.status_code == 400
    assert "too large" in response.text
    assert not SocialApp.objects.exists()
