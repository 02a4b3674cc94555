"""Checking a SAML 2.0 identity provider before it is saved: its metadata (fetched from
its URL, in time, or pasted) must parse and name an entityID, a single sign-on endpoint
with the HTTP-Redirect binding, and a signing certificate. What it names is kept in the
organization's SocialApp (allauth's `saml` provider reads it there at every sign-in), so
signing in never waits on the metadata URL; an Owner saves again after the IdP rolls its
certificate."""

import base64
import binascii

import requests
from cryptography import x509
from django.utils.translation import gettext as _
from onelogin.saml2.constants import OneLogin_Saml2_Constants
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser

from . import remote

# What allauth's saml provider sends an AuthnRequest with (python3-saml's login() builds
# an HTTP-Redirect URL only): an IdP that takes requests by HTTP-POST alone can't be used.
REQUEST_BINDING = OneLogin_Saml2_Constants.BINDING_HTTP_REDIRECT


class MetadataError(Exception):
    """A refusal, worded for the Owner."""


def fetch(url: str) -> str:
    """The metadata document at `url` (sso.remote: bounded in size and time)."""
    try:
        body = remote.read(url)
    except (requests.Timeout, remote.TooSlow) as error:
        raise MetadataError(
            _("Your identity provider did not answer in time. Check the URL and try again.")
        ) from error
    except remote.LocalAddress as error:
        raise MetadataError(remote.local_address_message(error)) from error
    except remote.TooLarge as error:
        raise MetadataError(
            _("The SAML metadata at %(url)s is too large.") % {"url": url}
        ) from error
    except requests.RequestException as error:
        raise MetadataError(
            _("No SAML metadata could be read at %(url)s.") % {"url": url}
        ) from error
    return body.decode("utf-8", errors="replace")


def idp_settings(xml: str) -> dict:
    """allauth's `idp` settings (entity_id, sso_url, x509cert) from a metadata document."""
    try:
        parsed = OneLogin_Saml2_IdPMetadataParser.parse(
            xml.strip().encode(), required_sso_binding=REQUEST_BINDING
        )
    except (SyntaxError, ValueError) as error:  # lxml's XMLSyntaxError is a SyntaxError
        raise MetadataError(_("This is not SAML metadata (its XML does not parse).")) from error
    idp = parsed.get("idp", {})
    entity_id = idp.get("entityId")
    sso_url = (idp.get("singleSignOnService") or {}).get("url")
    signing = (idp.get("x509certMulti") or {}).get("signing") or []
    certificate = idp.get("x509cert") or (signing[0] if signing else None)
    if not entity_id:
        raise MetadataError(_("The metadata names no IdP entityID."))
    if not sso_url:
        raise MetadataError(
            _("The metadata names no single sign-on endpoint with the HTTP-Redirect binding.")
        )
    if not certificate:
        raise MetadataError(_("The metadata names no signing certificate."))
    try:
        x509.load_der_x509_certificate(base64.b64decode("".join(certificate.split())))
    except (binascii.Error, ValueError) as error:
        raise MetadataError(_("The signing certificate in the metadata does not parse.")) from error
    return {"entity_id": entity_id, "sso_url": sso_url, "x509cert": certificate}
