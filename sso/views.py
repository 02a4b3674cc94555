"""The SSO section of an organization's Settings (Owners, after a fresh sign-in), and
"Sign in with SSO": a work email (its verified domain) or the organization's ID finds the
organization's provider, and the browser is sent there."""

import requests
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.providers.base import AuthProcess
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from accounts import sudo
from organizations import access
from organizations.decorators import organization_view
from organizations.models import Organization, Role
from organizations.views import render_settings

from . import discovery, domains, saml, services
from .forms import DomainCodeForm, DomainForm, OidcForm, RequireSsoForm, SamlForm, SignInForm
from .models import Connection, Domain


def owner_action(view):
    """POST only, Owners only, after a fresh sign-in (accounts.sudo)."""

    @require_POST
    @organization_view
    def wrapper(request, membership, *args, **kwargs):
        access.require_owner(membership)
        sudo.require_fresh_sign_in(request)
        return view(request, membership, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def back(membership):
    return redirect("organizations:settings", org=membership.organization.slug)


def invalid(request, membership, status=400, **forms):
    return render_settings(
        request, membership, key_form=None, extra={"sso_forms": forms}, status=status
    )


@sensitive_post_parameters("client_secret")  # never in an error report
@owner_action
def save_connection(request, membership):
    connection = services.connection_of(membership.organization)
    form = OidcForm(request.POST, secret_set=connection is not None)
    if not form.is_valid():
        return invalid(request, membership, oidc_form=form)
    issuer = form.cleaned_data["issuer"]
    problem = discovery.problem_with(issuer)
    if problem:
        form.add_error("issuer", problem)
        return invalid(request, membership, oidc_form=form)
    try:
        services.save_oidc(
            membership.organization,
            issuer=issuer,
            client_id=form.cleaned_data["client_id"],
            client_secret=form.cleaned_data["client_secret"],
        )
    except services.ConnectionError as error:
        form.add_error("client_secret", str(error))
        return invalid(request, membership, oidc_form=form)
    messages.success(request, _("Single sign-on saved."))
    return back(membership)


@owner_action
def save_saml(request, membership):
    form = SamlForm(request.POST)
    if not form.is_valid():
        return invalid(request, membership, saml_form=form)
    url = form.cleaned_data["metadata_url"]
    try:
        xml = saml.fetch(url) if url else form.cleaned_data["metadata_xml"]
        idp = saml.idp_settings(xml)
        services.save_saml(membership.organization, idp=idp, metadata_url=url)
    except (saml.MetadataError, services.ConnectionError) as error:
        form.add_error("metadata_url" if url else "metadata_xml", str(error))
        return invalid(request, membership, saml_form=form)
    messages.success(request, _("Single sign-on saved."))
    return back(membership)


@owner_action
def disconnect(request, membership):
    connection = services.connection_of(membership.organization)
    if connection is not None:
        services.disconnect(connection)
        messages.success(request, _("Single sign-on removed. Members sign in as before."))
    return back(membership)


@owner_action
def require(request, membership):
    connection = get_object_or_404(Connection, organization=membership.organization)
    owners = membership.organization.memberships.filter(role=Role.OWNER).select_related("user")
    form = RequireSsoForm(request.POST, owners=owners)
    if form.is_valid():
        break_glass = owners.filter(pk=form.cleaned_data["break_glass"]).first()
        try:
            services.set_require_sso(connection, form.cleaned_data["require_sso"], break_glass)
        except services.ConnectionError as error:
            form.add_error("break_glass", str(error))
        else:
            messages.success(request, _("Settings saved."))
            return back(membership)
    return invalid(request, membership, require_form=form)


@owner_action
def add_domain(request, membership):
    form = DomainForm(request.POST)
    if form.is_valid():
        try:
            domain = domains.add(
                membership.organization, form.cleaned_data["name"], form.cleaned_data["mailbox"]
            )
        except domains.TooManyCodes as error:
            form.add_error("name", str(error))
            return invalid(request, membership, status=429, domain_form=form)
        except domains.DomainError as error:
            form.add_error("name", str(error))
        else:
            messages.success(
                request, _("We sent a code to %(email)s.") % {"email": domain.code_sent_to}
            )
            return back(membership)
    return invalid(request, membership, domain_form=form)


def domain_of(membership, domain_id) -> Domain:
    return get_object_or_404(Domain, pk=domain_id, organization=membership.organization)


@owner_action
def verify_domain(request, membership, domain_id):
    domain = domain_of(membership, domain_id)
    form = DomainCodeForm(request.POST)
    try:
        if not form.is_valid():
            raise domains.DomainError(_("Enter the code from the email."))
        domains.verify(domain, form.cleaned_data["code"])
    except domains.DomainError as error:
        return invalid(request, membership, domain_errors={domain.pk: str(error)})
    messages.success(request, _("%(domain)s is verified.") % {"domain": domain.name})
    return back(membership)


@owner_action
def resend_code(request, membership, domain_id):
    domain = domain_of(membership, domain_id)
    try:
        domains.send_code(domain, request.POST.get("mailbox", ""))
    except domains.DomainError as error:
        status = 429 if isinstance(error, domains.TooManyCodes) else 400
        return invalid(request, membership, status, domain_errors={domain.pk: str(error)})
    messages.success(request, _("We sent a code to %(email)s.") % {"email": domain.code_sent_to})
    return back(membership)


@owner_action
def remove_domain(request, membership, domain_id):
    domain = domain_of(membership, domain_id)
    domains.remove(domain)
    messages.success(request, _("%(domain)s was removed.") % {"domain": domain.name})
    return back(membership)


def find_connection(who: str) -> Connection | None:
    """By a work email's verified domain, or by the organization's ID (its slug)."""
    who = who.strip().lower()
    connections = Connection.objects.select_related("app", "organization").filter(
        organization__closed_at__isnull=True
    )
    if "@" in who:
        return connections.filter(
            organization__sso_domains__name=domains.of_email(who),
            organization__sso_domains__verified_at__isnull=False,
        ).first()
    return connections.filter(organization__slug=who).first()


@require_http_methods(["GET", "POST"])
def sign_in(request):
    form = SignInForm(request.POST or None, initial={"who": request.GET.get("who", "")[:254]})
    if request.method == "POST" and form.is_valid():
        connection = find_connection(form.cleaned_data["who"])
        if connection is None:
            form.add_error(
                "who",
                _(
                    "No organization signs in with SSO at that address or ID. Check it, "
                    "or sign in with your password."
                ),
            )
        else:
            return continue_to(request, connection)
    return render(request, "sso/sign_in.html", {"form": form}, status=400 if form.errors else 200)


@never_cache
def continue_to(request, connection: Connection):
    """A link to the organization's provider, with allauth's state stashed in the
    session. A link, not a redirect: the console's Content-Security-Policy lets a form
    post only to the console itself (form-action 'self'), redirects included."""
    provider = get_adapter(request).get_provider(request, connection.app.provider_id)
    try:
        redirect_to_idp = provider.redirect(
            request, AuthProcess.LOGIN, next_url=next_for(connection)
        )
    except requests.RequestException:
        return unavailable(request, connection.organization)
    return render(
        request,
        "sso/continue.html",
        {"organization": connection.organization, "url": redirect_to_idp.url},
    )


def next_for(connection: Connection) -> str:
    return reverse("apikeys:list", kwargs={"org": connection.organization.slug})


def unavailable(request, organization: Organization):
    return render(
        request,
        "sso/refused.html",
        {
            "message": _(
                "%(organization)s's identity provider did not answer. Try again in a few "
                "minutes; if it keeps failing, ask your administrator."
            )
            % {"organization": organization.name}
        },
        status=502,
    )
