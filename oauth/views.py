"""The authorization server's pages and endpoints that aren't the toolkit's own: the
consent page, registration with a throttle, and the discovery documents at our paths."""

import json
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.shortcuts import redirect
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.models import get_access_token_model, get_application_model
from oauth2_provider.views import AuthorizationView, RevokeTokenView, TokenView
from oauth2_provider.views.dynamic_client_registration import (
    DynamicClientRegistrationManagementView,
    DynamicClientRegistrationView,
)
from oauthlib.oauth2.rfc6749 import errors

from accounts import sudo, two_factor
from infra import limits
from infra.client_ip import network_of, of_request
from organizations.models import Membership
from sso import policy as sso_policy

from .forms import ConsentForm
from .services import redirect_host
from .validator import is_safe_redirect_uri


class Consent(AuthorizationView):
    """GET shows what the client asks for; POST grants it (or denies). Signed in, with a
    fresh sign-in, as for making a key (accounts.sudo)."""

    template_name = "oauth/consent.html"
    form_class = ConsentForm

    def dispatch(self, request, *args, **kwargs):
        if _has_nul(request.GET) or _has_nul(request.POST):
            return self.render_to_response(
                {"refusal": _("This sign-in link is damaged.")}, status=400
            )
        self.memberships, self.sso_blocked = [], []
        if request.user.is_authenticated:
            if not sudo.is_fresh(request):
                if request.method == "POST":
                    # Back to the page with the request's parameters, which asks for
                    # the sign-in and then shows the page again: nothing is granted on
                    # the strength of an old sign-in.
                    return redirect(f"{request.path}?{urlencode(_request_parameters(request))}")
                sudo.require_fresh_sign_in(request)
            memberships = list(
                Membership.objects.filter(user=request.user)
                .select_related("organization", "user")
                .order_by("organization__name")
            )
            # An app authorized for an organization that requires SSO is a credential
            # made there, as a key is: only from a session that came through its SSO
            # (its break-glass Owner's too). Not offered, so not grantable by a POST.
            blocked = sso_policy.credentials_blocked(
                request, (m.organization_id for m in memberships)
            )
            self.memberships = [m for m in memberships if m.organization_id not in blocked]
            self.sso_blocked = [m for m in memberships if m.organization_id in blocked]
        return super().dispatch(request, *args, **kwargs)

    def handle_no_permission(self):
        # Signed out: to the sign-in page, whatever `prompt` says (the toolkit sends
        # prompt=none back to the client, which made this server an open redirector for
        # anyone who registers a client).
        return redirect_to_login(self.request.get_full_path())

    def get(self, request, *args, **kwargs):
        wrong = [uri for uri in request.GET.getlist("resource") if uri != _resource()]
        if wrong:
            return self.render_to_response(
                {"refusal": _("This app asked for access to another server.")}, status=400
            )
        new_client = is_new_metadata_document(request.GET.get("client_id", ""))
        if new_client and not may_register(request):
            return self.render_to_response(
                {"refusal": _("Too many new apps from your address; try again later.")},
                status=429,
            )
        # The person always chooses: no "approval_prompt=auto" (a client's wish to skip
        # the page once it has a token).
        request.GET = request.GET.copy()
        request.GET.pop("approval_prompt", None)
        return super().get(request, *args, **kwargs)

    def error_response(self, error, application, **kwargs):
        # A client's request that fails before the person has seen it gets our page, not
        # a redirect: a registered redirect URI proves nothing when anyone may register
        # (RFC 9700 4.11.2). After the person answered (POST), the client hears back.
        if self.request.method == "GET":
            oauthlib_error = error.oauthlib_error
            return self.render_to_response(
                {"error": oauthlib_error}, status=getattr(oauthlib_error, "status_code", 400)
            )
        return super().error_response(error, application, **kwargs)

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
            blocked=[m for m in self.memberships if two_factor.missing_for(m)],
            sso_blocked=self.sso_blocked,
        )
        return context

    def form_valid(self, form):
        self.consented = form.cleaned_data
        return super().form_valid(form)

    def create_authorization_response(self, request, scopes, credentials, allow):
        consented = getattr(self, "consented", None)
        if allow and not consented:
            # The toolkit's shortcuts past the page (an application's skip_authorization,
            # a remembered approval): never here, every grant is a person's choice.
            allow = False
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


def _has_nul(values) -> bool:
    # PostgreSQL refuses NUL in text: a request carrying one is damaged, never a 500.
    return any("\x00" in key or any("\x00" in v for v in vs) for key, vs in values.lists())


def _request_parameters(request) -> dict:
    """The authorization request's parameters, from the consent form's hidden fields."""
    names = (
        "response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge",
        "code_challenge_method", "resource", "nonce",
    )  # fmt: skip
    return {name: request.POST[name] for name in names if request.POST.get(name)}


def _resource() -> str:
    return settings.MCP_OAUTH_RESOURCE


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else f"{parts.scheme}:"


def _typed_as_json(response):
    """oauthlib's JSON, which some of its answers send without a Content-Type."""
    if response.content.startswith(b"{"):
        response["Content-Type"] = "application/json"
    return response


def _oauth_error(error: str, description: str, status: int = 400) -> JsonResponse:
    response = JsonResponse({"error": error, "error_description": description}, status=status)
    response["Cache-Control"] = "no-store"
    return response


GRANT_TYPES = ("authorization_code", "refresh_token")


class Token(TokenView):
    """The toolkit's token endpoint, for the two grants we offer. oauthlib answers an
    error raised while it stores the tokens (an unknown `resource`) with its JSON but no
    Content-Type; and with tokens hashed at rest, the toolkit's answer to the loser of
    two refreshes racing with one token is a lookup of nothing (a 500)."""

    def post(self, request, *args, **kwargs):
        if _has_nul(request.POST):
            return _oauth_error("invalid_request", "The request is damaged (NUL)")
        if request.POST.get("grant_type") not in GRANT_TYPES:
            return _oauth_error("unsupported_grant_type", "Use authorization_code or refresh_token")
        new_client = is_new_metadata_document(request.POST.get("client_id", ""))
        if new_client and not may_register(request):
            return too_many_registrations(request)
        try:
            response = super().post(request, *args, **kwargs)
        except get_access_token_model().DoesNotExist:
            return _oauth_error("invalid_grant", "This refresh token was just used")
        return _typed_as_json(response)


class Revoke(RevokeTokenView):
    """RFC 7009 revocation, answered in JSON like every machine URL."""

    def post(self, request, *args, **kwargs):
        if _has_nul(request.POST):
            return _oauth_error("invalid_request", "The request is damaged (NUL)")
        response = super().post(request, *args, **kwargs)
        if response.status_code == 200 and not response.content:
            return JsonResponse({})
        return _typed_as_json(response)


def _metadata_problem(body: bytes) -> tuple[str, str] | None:
    """What is wrong with a registration's metadata by our rules, as (error, description)
    (the toolkit checks the rest): redirect URIs https, loopback http or an app's scheme,
    no credentials or odd characters in them; only the code grant with refresh; no NUL."""
    if b"\x00" in body or b"\\u0000" in body:
        return "invalid_client_metadata", "The metadata is damaged (NUL)"
    try:
        metadata = json.loads(body)
    except RecursionError:  # the toolkit's own parser would fail on it too, with a 500
        return "invalid_client_metadata", "The metadata is nested too deeply"
    except ValueError:
        return None  # the toolkit answers a body that isn't JSON
    if not isinstance(metadata, dict):
        return None
    uris = metadata.get("redirect_uris", [])
    if isinstance(uris, list):
        for entry in uris:
            if not isinstance(entry, str):
                return None
            if not entry.split() or not all(is_safe_redirect_uri(uri) for uri in entry.split()):
                return (
                    "invalid_redirect_uri",
                    "Redirect URIs must be https, http to a loopback address (127.0.0.1, "
                    "[::1], localhost) or an app's own scheme, one per entry",
                )
    grants = metadata.get("grant_types", ["authorization_code"])
    responses = metadata.get("response_types", ["code"])
    if not isinstance(grants, list) or not set(grants) <= set(GRANT_TYPES):
        return (
            "invalid_client_metadata",
            "Only the authorization_code and refresh_token grants are offered",
        )
    if not isinstance(responses, list) or not set(responses) <= {"code"}:
        return "invalid_client_metadata", 'Only the "code" response type is offered'
    return None


class _RegistrationRules:
    """What registering and updating a registration share: never a session's user (the
    machine stack has none), our rules on the metadata, and no caching of an answer that
    carries the registration's token."""

    # csrf_exempt as the toolkit's own dispatch is, which this one replaces: a program's
    # endpoint, credentials in headers, never cookies.
    @method_decorator(csrf_exempt)
    def dispatch(self, request, *args, **kwargs):
        request.user = AnonymousUser()
        return super().dispatch(request, *args, **kwargs)

    def _checked(self, request, act):
        problem = _metadata_problem(request.body)
        if problem:
            return _oauth_error(*problem)
        response = act()
        response["Cache-Control"] = "no-store"
        return response


class RegistrationManagement(_RegistrationRules, DynamicClientRegistrationManagementView):
    """RFC 7592: the client reads, updates or deletes its registration with its token;
    an update is held to the same rules as a registration."""

    def put(self, request, *args, **kwargs):
        return self._checked(
            request, lambda: super(RegistrationManagement, self).put(request, *args, **kwargs)
        )

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return response


def may_register(request) -> bool:
    """Whether this client address may make one more client (a registration, or a first
    use of a client ID metadata document): RATE_LIMITS["oauth_registrations"], an IPv6
    address counted by its /64."""
    return limits.hit("oauth_registrations", network_of(of_request(request)))


def too_many_registrations(request) -> JsonResponse:
    response = _oauth_error(
        "too_many_requests", "Too many new clients from this address; try later", 429
    )
    network = network_of(of_request(request))
    response["Retry-After"] = str(limits.retry_after("oauth_registrations", network))
    return response


def is_new_metadata_document(client_id: str) -> bool:
    """A client ID that is a metadata document's URL, not known yet: using it makes a
    client (the toolkit fetches the document and keeps it)."""
    return (
        client_id.startswith("https://")
        and not get_application_model().objects.filter(client_id=client_id).exists()
    )


class Registration(_RegistrationRules, DynamicClientRegistrationView):
    """Dynamic client registration (RFC 7591), open as MCP clients need it: throttled per
    client address, and held to our rules (_metadata_problem)."""

    def post(self, request, *args, **kwargs):
        if not may_register(request):
            return too_many_registrations(request)
        try:
            return self._checked(
                request, lambda: super(Registration, self).post(request, *args, **kwargs)
            )
        except RecursionError:
            return _oauth_error("invalid_client_metadata", "The metadata is nested too deeply")
