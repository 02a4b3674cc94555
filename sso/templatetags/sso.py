from django import template
from django.conf import settings
from django.urls import reverse

from organizations.models import Role

from .. import services
from ..domains import MAILBOXES
from ..forms import DomainForm, OidcForm, RequireSsoForm

register = template.Library()


@register.simple_tag(takes_context=True)
def sso_settings(context) -> dict:
    """What the SSO section of Settings shows; the forms a failed POST bound, when the
    view passed them (sso.views.invalid)."""
    organization = context["membership"].organization
    bound = context.get("sso_forms", {})
    connection = services.connection_of(organization)
    owners = organization.memberships.filter(role=Role.OWNER).select_related("user")
    callback = None
    if connection is not None:
        path = reverse(
            "openid_connect_callback", kwargs={"provider_id": connection.app.provider_id}
        )
        callback = settings.PUBLIC_URL + path
    return {
        "connection": connection,
        "issuer": connection.app.settings.get("server_url", "") if connection else "",
        "callback": callback,
        "oidc_form": bound.get("oidc_form")
        or OidcForm(
            secret_set=connection is not None,
            initial={
                "issuer": connection.app.settings.get("server_url", ""),
                "client_id": connection.app.client_id,
            }
            if connection
            else None,
        ),
        "require_form": bound.get("require_form")
        or RequireSsoForm(
            owners=owners,
            initial={
                "require_sso": connection.require_sso,
                "break_glass": next(
                    (o.pk for o in owners if o.user_id == connection.break_glass_id), None
                ),
            }
            if connection
            else None,
        ),
        "domains": list(organization.sso_domains.all()),
        "domain_errors": bound.get("domain_errors", {}),
        "domain_form": bound.get("domain_form") or DomainForm(),
        "mailboxes": MAILBOXES,
    }
