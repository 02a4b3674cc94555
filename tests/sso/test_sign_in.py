""" "Sign in with SSO": a work email's verified domain, or the organization's ID, finds
the organization's provider; a provider that is down or hangs is said so (502), never a
server error."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from sso import services
from sso.models import Domain

from .idp import CLIENT_ID, CLIENT_SECRET


@pytest.fixture
def connected(org, idp):
    Domain.objects.create(organization=org, name="acme.test", verified_at=timezone.now())
    return services.save_oidc(
        org, issuer=idp.issuer, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )


def sign_in(client, who, **headers):
    return client.post("/sso/", {"who": who}, **headers)


@pytest.mark.parametrize("who", ["nora@acme.test", " Nora@ACME.test ", "acme"])
def test_an_email_at_a_verified_domain_or_the_id_leads_to_the_provider(client, connected, idp, who):
    response = sign_in(client, who)
    assert response.status_code == 200
    assert "Continue to Acme's sign-in" in response.text
    assert "no-store" in response["Cache-Control"]
    link = response.text.split('class="button button--block" href="')[1].split('"')[0]
    url = urlsplit(link.replace("&amp;", "&"))
    assert f"{url.scheme}://{url.netloc}" == idp.issuer
    query = parse_qs(url.query)
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"][0].endswith(
        f"/accounts/oidc/{connected.app.provider_id}/login/callback/"
    )
    assert CLIENT_SECRET not in link


@pytest.mark.parametrize("who", ["nora@unverified.test", "globex", "nobody"])
def test_no_organization_found_is_said_plainly(client, connected, other_org, who):
    Domain.objects.create(organization=connected.organization, name="unverified.test")
    response = sign_in(client, who)
    assert response.status_code == 400
    assert "No organization signs in with SSO at that address or ID." in response.text


def test_a_closed_organization_is_not_found(client, connected, org):
    org.closed_at = timezone.now()
    org.save(update_fields=["closed_at"])
    assert sign_in(client, "acme").status_code == 400


def test_an_empty_form_asks_again(client):
    response = sign_in(client, "")
    assert response.status_code == 400
    assert "Enter your work email address or your organization&#x27;s ID." in response.text


def test_a_provider_that_is_down_is_said_so(client, org, closed_port):
    services.save_oidc(org, issuer=closed_port, client_id="x", client_secret="y")
    response = sign_in(client, "acme")
    assert response.status_code == 502
    assert "Acme&#x27;s identity provider did not answer." in response.text


def test_a_provider_that_hangs_is_said_so_after_the_timeout(client, org, silent_server, settings):
    settings.SOCIALACCOUNT_REQUESTS_TIMEOUT = 0.5
    services.save_oidc(org, issuer=silent_server, client_id="x", client_secret="y")
    response = sign_in(client, "acme")
    assert response.status_code == 502
    assert "did not answer" in response.text


def test_allauths_own_login_url_says_so_too(client, org, closed_port):
    connection = services.save_oidc(org, issuer=closed_port, client_id="x", client_secret="y")
    response = client.post(f"/accounts/oidc/{connection.app.provider_id}/login/")
    assert response.status_code == 502
    assert "The identity provider did not answer." in response.text


def test_a_made_up_callback_is_refused_without_an_error(client, connected):
    response = client.get(
        f"/accounts/oidc/{connected.app.provider_id}/login/callback/?code=x&state=forged"
    )
    assert response.status_code == 403
    assert "did not work" in response.text


def test_the_pages_in_japanese(client, connected):
    assert "SSO でサインイン" in client.get("/sso/", HTTP_ACCEPT_LANGUAGE="ja").text
    assert "SSO でサインイン" in client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="ja").text
    response = sign_in(client, "nobody", HTTP_ACCEPT_LANGUAGE="ja")
    assert "SSO サインインする組織はありません" in response.text
