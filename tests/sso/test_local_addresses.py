"""What an Owner types into SSO settings is fetched by the server: never from this
machine or its link (loopback, link-local where clouds keep their metadata service),
neither when saved nor at sign-in, unless SSO_ALLOW_LOCAL_ADDRESSES (the tests' own
providers are on loopback: tests/settings.py allows it, and these tests take it back)."""

import json

import pytest
import requests
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.models import SocialApp

from sso import remote, services

from .test_saml_settings import SAVE as SAVE_SAML
from .test_settings import connect
from .test_sign_in import sign_in


@pytest.fixture(autouse=True)
def _refuse_local(settings):
    settings.SSO_ALLOW_LOCAL_ADDRESSES = False


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/",
        "http://127.9.9.9/",
        "http://localhost:9/.well-known/openid-configuration",
        "http://[::1]:9/",
        "http://0.0.0.0:9/",
        "http://[::]/",
        "http://[::ffff:127.0.0.1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/",
        "http://[fd00:ec2::254]/",
        "https://224.0.0.1/",
        "http://2130706433/",  # 127.0.0.1 spelled as one number
        "http://0x7f.1/",  # and in hexadecimal
    ],
)
def test_local_addresses_are_refused_before_any_connection(url):
    with pytest.raises(remote.LocalAddress):
        remote.refuse_local(url)
    with pytest.raises(remote.LocalAddress):  # through the session allauth uses too
        get_adapter().get_requests_session().get(url)


@pytest.mark.parametrize(
    "url",
    ["http://10.1.2.3/", "https://192.168.0.10:8443/", "http://172.16.0.1/", "http://8.8.8.8/"],
)
def test_private_and_public_addresses_are_a_providers_to_have(url):
    remote.refuse_local(url)  # a company's provider may well be on its own network


def test_a_name_that_does_not_resolve_is_left_to_the_request():
    remote.refuse_local("http://no-such-host.invalid/")


def test_an_issuer_on_loopback_is_refused_and_never_asked(owner, client_for, document_server):
    issuer = document_server(json.dumps({"issuer": "x"}).encode())
    response = connect(client_for(owner), issuer)
    assert response.status_code == 400
    assert "127.0.0.1 is this server itself or its local link" in response.text
    assert document_server.requests == []
    assert not SocialApp.objects.exists()


def test_a_saml_metadata_url_on_loopback_is_refused_and_never_asked(
    owner, client_for, document_server
):
    url = document_server(b"<EntityDescriptor/>") + "/metadata"
    response = client_for(owner).post(SAVE_SAML, {"metadata_url": url})
    assert response.status_code == 400
    assert "this server itself or its local link" in response.text
    assert document_server.requests == []
    assert not SocialApp.objects.exists()


def test_a_sign_in_through_a_provider_on_loopback_never_reaches_it(client, org, document_server):
    # Saved while allowed (an operator turned it off since): the sign-in's own fetches
    # are allauth's, through the same guarded session.
    issuer = document_server(json.dumps({"issuer": "x"}).encode())
    services.save_oidc(org, issuer=issuer, client_id="x", client_secret="y")
    response = sign_in(client, "acme")
    assert response.status_code == 502
    assert "identity provider did not answer" in response.text
    assert document_server.requests == []


def test_allowed_a_loopback_provider_is_asked(settings, document_server):
    settings.SSO_ALLOW_LOCAL_ADDRESSES = True
    url = document_server(b"{}")
    assert remote.read(url + "/doc") == b"{}"
    assert document_server.requests == ["/doc"]


def test_a_local_address_is_a_connection_error_for_requests_callers():
    assert issubclass(remote.LocalAddress, requests.ConnectionError)
