"""The SAML 2.0 part of Settings' SSO section: the IdP's metadata, by URL (fetched in
time) or pasted, is checked before it is saved (an entityID, an HTTP-Redirect sign-on
endpoint, a signing certificate); every refusal is a 400 that says why; only Owners,
after a fresh sign-in (tests/accounts' stale-session test covers that too); one
connection per organization."""

import re
from urllib.parse import urlsplit

import pytest
import requests
from allauth.socialaccount.models import SocialApp
from onelogin.saml2.utils import OneLogin_Saml2_Utils

from organizations.models import AuditEvent
from sso import saml, services
from sso.models import Connection

SETTINGS = "/o/acme/settings/"
SAVE = SETTINGS + "sso/saml/"


@pytest.fixture(scope="module")
def metadata(saml_idp):
    return requests.get(saml_idp.metadata_url, timeout=5).text


def without(xml: str, pattern: str) -> str:
    return re.sub(pattern, "", xml, flags=re.DOTALL)


def test_an_owner_connects_an_idp_by_its_metadata_url(owner, client_for, saml_idp, settings):
    response = client_for(owner).post(SAVE, {"metadata_url": saml_idp.metadata_url})
    assert response.status_code == 302
    app = Connection.objects.select_related("app").get(organization=owner.organization).app
    assert app.provider == "saml" and app.client_id == app.provider_id
    idp = app.settings["idp"]
    assert idp["entity_id"] == saml_idp.metadata_url
    assert idp["sso_url"] == saml_idp.metadata_url.replace("/metadata", "/sso")
    assert idp["x509cert"] in saml_idp.certificate.replace("\n", "")
    assert app.settings["advanced"]["want_assertion_signed"] is True
    assert app.settings["advanced"]["reject_idp_initiated_sso"] is True
    page = client_for(owner).get(SETTINGS).text
    assert f"{settings.PUBLIC_URL}/accounts/saml/{app.client_id}/metadata/" in page
    assert f"{settings.PUBLIC_URL}/accounts/saml/{app.client_id}/acs/" in page
    assert 'name="issuer"' not in page  # no second connection offered
    event = AuditEvent.objects.get(details__policy="sso")
    assert event.details["connected"] == f"SAML {saml_idp.metadata_url}"


def test_allauth_serves_our_sp_metadata(owner, client, saml_idp, metadata, settings):
    connection = services.save_saml(
        owner.organization, idp=saml.idp_settings(metadata), metadata_url=saml_idp.metadata_url
    )
    entity_id = services.sp_urls(connection.app)["entity_id"]
    # python3-saml refuses a single-label host such as the test client's "testserver".
    response = client.get(
        f"/accounts/saml/{connection.app.client_id}/metadata/",
        HTTP_HOST=urlsplit(settings.PUBLIC_URL).netloc,
    )
    assert response.status_code == 200
    assert f"/accounts/saml/{connection.app.client_id}/acs/" in response.text
    assert f'entityID="{entity_id}"' in response.text


def test_pasted_metadata_connects_too_and_saving_again_changes_it(owner, client_for, metadata):
    client = client_for(owner)
    assert client.post(SAVE, {"metadata_xml": metadata}).status_code == 302
    app_id = SocialApp.objects.get().pk
    changed = metadata.replace('entityID="', 'entityID="urn:renamed:')
    assert client.post(SAVE, {"metadata_xml": changed}).status_code == 302
    app = SocialApp.objects.get()
    assert app.pk == app_id
    assert app.settings["idp"]["entity_id"].startswith("urn:renamed:")


@pytest.mark.parametrize(
    ("breakage", "says"),
    [
        (lambda xml: "<not-xml", "its XML does not parse"),
        (lambda xml: re.sub(r' entityID="[^"]*"', "", xml), "names no IdP entityID"),
        (
            lambda xml: without(xml, r"<SingleSignOnService.*?</SingleSignOnService>"),
            "no single sign-on endpoint with the HTTP-Redirect binding",
        ),
        (
            lambda xml: xml.replace("HTTP-Redirect", "HTTP-Artifact"),
            "no single sign-on endpoint with the HTTP-Redirect binding",
        ),
        (lambda xml: without(xml, r"<KeyDescriptor.*?</KeyDescriptor>"), "no signing certificate"),
        (
            lambda xml: re.sub(r"(<ds:X509Certificate>)MII", r"\1QUJD", xml),
            "signing certificate in the metadata does not parse",
        ),
        (
            lambda xml: '<!DOCTYPE x [<!ENTITY e "boom">]>' + xml,
            "its XML does not parse",
        ),
    ],
    ids=[
        "not-xml",
        "no-entity-id",
        "no-sso-endpoint",
        "post-binding-only",
        "no-cert",
        "bad-cert",
        "dtd",
    ],
)
def test_incomplete_metadata_is_refused_with_a_message(owner, client_for, metadata, breakage, says):
    response = client_for(owner).post(SAVE, {"metadata_xml": breakage(metadata)})
    assert response.status_code == 400
    assert says in response.text
    assert not SocialApp.objects.exists()


def test_neither_url_nor_xml_is_refused(owner, client_for):
    response = client_for(owner).post(SAVE, {"metadata_url": "", "metadata_xml": " "})
    assert response.status_code == 400
    assert "Enter the IdP metadata URL, or paste its metadata XML." in response.text


def test_a_metadata_url_that_is_down_is_refused(owner, client_for, closed_port):
    response = client_for(owner).post(SAVE, {"metadata_url": closed_port + "/metadata"})
    assert response.status_code == 400
    assert "No SAML metadata could be read at" in response.text
    assert not SocialApp.objects.exists()


def test_a_metadata_url_that_hangs_is_refused_after_the_timeout(
    owner, client_for, silent_server, settings
):
    settings.SOCIALACCOUNT_REQUESTS_TIMEOUT = 0.5
    response = client_for(owner).post(SAVE, {"metadata_url": silent_server + "/metadata"})
    assert response.status_code == 400
    assert "did not answer in time" in response.text


def test_an_oidc_organization_removes_it_before_choosing_saml(
    owner, client_for, connection, metadata
):
    page = client_for(owner).get(SETTINGS).text
    assert 'name="metadata_url"' not in page
    response = client_for(owner).post(SAVE, {"metadata_xml": metadata})
    assert response.status_code == 400
    assert "Remove the OpenID Connect provider first." in response.text
    assert SocialApp.objects.get().provider == "openid_connect"


@pytest.mark.parametrize(
    ("who", "status"), [("admin", 403), ("member", 403), ("outsider", 404), (None, 302)]
)
def test_only_owners_connect_saml(team, client_for, metadata, who, status):
    response = client_for(team[who] if who else None).post(SAVE, {"metadata_xml": metadata})
    assert response.status_code == status
    if who is None:
        assert response["Location"].startswith("/accounts/login/")
    assert not SocialApp.objects.exists()


def test_a_stale_sign_in_confirms_first(owner, client_for, metadata):
    response = client_for(owner, minutes_ago=60).post(SAVE, {"metadata_xml": metadata})
    assert response.status_code == 302
    assert "/reauthenticate/" in response["Location"]
    assert not SocialApp.objects.exists()


def test_saml_refuses_get(owner, client_for):
    assert client_for(owner).get(SAVE).status_code == 405


def test_disconnecting_saml_is_audited_by_its_entity_id(owner, client_for, metadata):
    client = client_for(owner)
    client.post(SAVE, {"metadata_xml": metadata})
    entity_id = SocialApp.objects.get().settings["idp"]["entity_id"]
    assert client.post(SETTINGS + "sso/disconnect/").status_code == 302
    assert not SocialApp.objects.exists()
    assert f"removed (SAML {entity_id})" in client.get("/o/acme/audit/").text


def test_the_saml_settings_speak_japanese(owner, client_for, metadata):
    client = client_for(owner)
    client.post(SAVE, {"metadata_xml": metadata})
    page = client.get(SETTINGS, HTTP_ACCEPT_LANGUAGE="ja").text
    assert "IdP メタデータの URL" in page
    assert "SP エンティティ ID (SP メタデータの URL でもあります):" in page
    refused = client.post(SAVE, {"metadata_xml": "<x"}, HTTP_ACCEPT_LANGUAGE="ja")
    assert "SAML メタデータではありません" in refused.text


def test_saml_single_logout_is_not_offered(owner, client_for, metadata, settings):
    """An unsigned LogoutRequest would sign the person out from anyone's link: allauth's
    SLS endpoint answers 404 and the session stays."""
    client = client_for(owner)
    client.post(SAVE, {"metadata_xml": metadata})
    app = SocialApp.objects.get()
    logout = OneLogin_Saml2_Utils.deflate_and_base64_encode(
        '<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_x" Version="2.0" '
        f'IssueInstant="2026-01-01T00:00:00Z"><saml:Issuer>{app.settings["idp"]["entity_id"]}'
        "</saml:Issuer><saml:NameID>owner@acme.test</saml:NameID></samlp:LogoutRequest>"
    )
    response = client.get(
        f"/accounts/saml/{app.client_id}/sls/",
        {"SAMLRequest": logout},
        HTTP_HOST=urlsplit(settings.PUBLIC_URL).netloc,
    )
    assert response.status_code == 404
    assert client.get(SETTINGS).status_code == 200
