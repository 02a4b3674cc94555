"""The authorization server's pages and endpoints that aren't the toolkit's own: the
consent page, registration with a throttle, and the discovery documents at our paths."""

import json
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import JsonResponse
from django.utils.translation import gettext as _
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.models import get_application_model
from oauth2_provider.views import AuthorizationView, TokenView
from oauth2_provider.views.dynamic_client_registration import DynamicClientRegistrationView
from oauthlib.oauth2.rfc6749 import errors

from accounts import sudo, two_factor
from apikeys import throttle
from genesis.client_ip import of_request
from organizations.models import Membership

from . import scopes
from .forms import ConsentForm
from .services import redirect_host
from .validator import is_safe_redirect_uri


class Consent(AuthorizationView):
    """GET shows what the client asks for; POST grants it (or denies). Signed in, with a
    fresh sign-in, as for making a key (accounts.sudo)."""

    template_name = "oauth/consent.html"
    form_class = ConsentForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            # Asked when the page is shown (a POST sent to sign in again would lose the
            # request's parameters): what the person grants, they saw within minutes.
            if request.method == "GET":
                sudo.require_fresh_sign_in(request)
            self.memberships = list(
                Membership.objects.filter(user=request.user)
                .select_related("organization", "user")
                .order_by("organization__name")
            )
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        wrong = [uri for uri in request.GET.getlist("resource") if uri != _resource()]
        if wrong:
            return self.render_to_response(
                {"refusal": _("This app asked for access to another server.")}, status=400
            )
        return super().get(request, *args, **kwargs)

    def validate_authorization_request(self, request):
        scopes, credentials = super().validate_authorization_request(request)
        # oauthlib accepts "plain" too; a proven client is told to use S256 (RFC 9700).
        if credentials.get("code_challenge_method", "S256") != "S256":
            error = errors.InvalidRequestError(
                description='PKCE must use code_challenge_method "S256".',
                state=credentials.get("state"),
            )
            error.redirect_uri = credentials["redirect_uri"]  # validated: the client's own
            raise OAuthToolkitError(error=error)
        return scopes, credentials

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        requested = (self.oauth2_data.get("scope") or self.oauth2_data.get("scopes")) or []
        if not requested and self.request.method == "POST":
            requested = self.request.POST.get("scope", "").split()
        kwargs["memberships"] = self.memberships
        kwargs["requested"] = requested
        return kwargs

    def get_initial(self):
        initial = super().get_initial()
        usable = [m for m in self.memberships if not two_factor.missing_for(m)]
        if len(usable) == 1:
            initial["organization"] = usable[0].organization_id
        # Offered as asked, organization admin only where the role allows it.
        initial["scopes"] = [s for s in initial["scope"].split() if s != "org:admin"]
        return initial

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = context.get("form")
        application = context.get("application")
        if application is None and form is not None and form.is_bound:
            client_id = form.data.get("client_id", "")
            application = get_application_model().objects.filter(client_id=client_id).first()
        redirect_uri = context.get("redirect_uri") or (
            form.data.get("redirect_uri") if form and form.is_bound else ""
        )
        context.update(
            application=application,
            client_name=(application.name or application.client_id) if application else "",
            redirect_host=redirect_host(redirect_uri or ""),
            memberships=self.memberships if self.request.user.is_authenticated else [],
            blocked=[m for m in getattr(self, "memberships", []) if two_factor.missing_for(m)],
            grantable=scopes.GRANTABLE,
        )
        return context

    def form_valid(self, form):
        self.consented = form.cleaned_data
        return super().form_valid(form)

    def create_authorization_response(self, request, scopes, credentials, allow):
        consented = getattr(self, "consented", {})
        if allow:
            credentials["genesis_organization"] = consented["membership"].organization
        # Every code, and so every token, is for the MCP server: its audience.
        credentials["resource"] = [_resource()]
        return super().create_authorization_response(request, scopes, credentials, allow)

    def redirect(self, redirect_to, application):
        response = super().redirect(redirect_to, application)
        # Chromium applies the page's form-action to the redirect that follows the POST:
        # allow the client's redirect, and nothing else.
        response._csp_update = {"form-action": [_origin(redirect_to)]}
        return response

    def render_to_response(self, context, **response_kwargs):
        response = super().render_to_response(context, **response_kwargs)
        redirect_uri = context.get("redirect_uri") or ""
        if redirect_uri:
            response._csp_update = {"form-action": [_origin(redirect_uri)]}
        return response


def _resource() -> str:
    return settings.MCP_OAUTH_RESOURCE


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else f"{parts.scheme}:"


class Token(TokenView):
    """The toolkit's token endpoint. oauthlib answers an error raised while it stores the
    tokens (an unknown `resource`, for one) with its JSON but no Content-Type."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        if response.status_code >= 400 and response.content.startswith(b"{"):
            response["Content-Type"] = "application/json"
        return response


class Registration(DynamicClientRegistrationView):
    """Dynamic client registration (RFC 7591), open as MCP clients need it: throttled per
    client address, redirect URIs https or loopback only."""

    def dispatch(self, request, *args, **kwargs):
        request.user = AnonymousUser()  # never a session's: the machine stack has none
        return super().dispatch(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        ip = of_request(request)
        registrations = throttle.count(f"oauth-registrations:{ip}", timeout=3600)
        if registrations > settings.OAUTH_REGISTRATIONS_PER_HOUR:
            response = JsonResponse(
                {
                    "error": "too_many_requests",
                    "error_description": "Too many registrations from this address; try later",
                },
                status=429,
            )
            response["Retry-After"] = "3600"
            return response
        try:
            uris = json.loads(request.body).get("redirect_uris", [])
        except (ValueError, AttributeError):
            uris = []  # the toolkit answers a body that isn't a JSON object
        if isinstance(uris, list) and not all(
            isinstance(uri, str) and is_safe_redirect_uri(uri) for uri in uris
        ):
            return JsonResponse(
                {
                    "error": "invalid_redirect_uri",
                    "error_description": "Redirect URIs must be https, or http to a "
                    "loopback address (127.0.0.1, [::1], localhost)",
                },
                status=400,
            )
        return super().post(request, *args, **kwargs)
