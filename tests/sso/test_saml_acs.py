"""allauth's ACS for an organization's SAML IdP, fed what no IdP should send: each gets
the page that says signing in did not work (403), never a server error."""

import base64

import pytest
from allauth.socialaccount.models import SocialAccount

from organizations.models import User
from sso import saml, services


@pytest.fixture
def app(org, saml_idp):
    return services.save_saml(org, idp=saml.idp_settings(saml.fetch(saml_idp.metadata_url))).app


@pytest.mark.parametrize(
    "saml_response",
    [
        "%%% not base64",
        base64.b64encode(b"<not xml").decode(),
        base64.b64encode(b"<x/>").decode(),
        base64.b64encode(
            b'<!DOCTYPE r [<!ENTITY e "boom">]><samlp:Response '
            b'xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&e;</samlp:Response>'
        ).decode(),
        "",
    ],
    ids=["not-base64", "not-xml", "not-saml", "entities", "empty"],
)
def test_garbage_at_the_acs_is_refused_with_a_page(client, app, saml_response, settings):
    host = settings.PUBLIC_URL.split("//", 1)[1]
    response = client.post(
        f"/accounts/saml/{app.client_id}/acs/",
        {"SAMLResponse": saml_response},
        HTTP_HOST=host,
        follow=True,
    )
    assert response.status_code == 403
    assert "did not work" in response.text
    assert User.objects.count() == 0
    assert not SocialAccount.objects.exists()
