"""The API keys page and its actions.

Every action answers htmx with one component (a dialog, or a section of the page) and a
plain request with the whole page, so everything works without JavaScript too. Dialogs
have their own URLs: without JavaScript they render as the page with the dialog open.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET

from accounts import sudo, two_factor
from organizations.access import require_admin
from organizations.decorators import dialog_view, organization_view
from organizations.models import Membership
from sso import policy as sso_policy
from ui.htmx import finish, render_dialog
from ui.pages import page_of, without_page

from . import clients, services
from .access import get_org_key_or_404, get_own_key_or_404
from .forms import KeyNameForm, OrgKeyFilterForm, RenameForm, RollForm
from .models import ApiKey

ORG_KEYS_PER_PAGE = 20
KEYS_CHANGED = "keys-changed"


def keys_url(membership: Membership) -> str:
    return reverse("apikeys:list", kwargs={"org": membership.organization.slug})


class KeyUrls:
    """Where a list's key dialogs are, for its rows' buttons (the key_action tag): the
    URL names' `prefix` (apikeys.urls.key_dialogs) and the URLs' arguments but the key.

    Each action is reversed once per list, with a stand-in key id that is then swapped
    for each row's: reverse() for every button cost a page of 50 keys 7 ms (a sixth
    of its render, bench/key_rows.py). The key id is the path's last argument
    (<key id>/<action>/), so the stand-in's last occurrence is the one to swap."""

    STAND_IN = "/999999999/"

    def __init__(self, prefix: str, kwargs: dict):
        self.prefix, self.kwargs = prefix, kwargs
        self._around_key: dict[str, tuple[str, str]] = {}

    def url(self, key, action: str) -> str:
        if action not in self._around_key:
            stand_in = {**self.kwargs, "key_id": int(self.STAND_IN.strip("/"))}
            head, _, tail = reverse(self.prefix + action, kwargs=stand_in).rpartition(self.STAND_IN)
            self._around_key[action] = (head, tail)
        head, tail = self._around_key[action]
        return f"{head}/{key.pk}/{tail}"


def key_urls(membership: Membership) -> KeyUrls:
    """The API keys page's (own keys, and the organization's for Admins)."""
    return KeyUrls("apikeys:", {"org": membership.organization.slug})


def my_keys(membership: Membership):
    return (
        ApiKey.objects.unrevoked()
        .filter(organization_id=membership.organization_id, user_id=membership.user_id)
        # The old half of a roll is listed while it works, and gone when its overlap ends.
        .exclude(replaced_by__isnull=False, expires_at__lte=timezone.now())
        .select_related("replaced_by")
    )


def org_keys_context(request, membership: Membership) -> dict:
    filters = OrgKeyFilterForm(request.GET)
    keys = filters.filter(
        ApiKey.objects.unrevoked()
        .filter(organization_id=membership.organization_id)
        .with_owner_role()
        .select_related("user__service_account", "created_by")
    )
    page = page_of(keys, request.GET.get("page"), ORG_KEYS_PER_PAGE, counted=True)
    return {"filters": filters, "org_page": page, "filter_query": without_page(request)}


def page_context(request, membership: Membership, **extra) -> dict:
    context = {
        "membership": membership,
        "my_keys": my_keys(membership),
        "key_urls": key_urls(membership),
        **extra,
    }
    if membership.is_admin:
        context.update(org_keys_context(request, membership))
    from . import authorized_apps as apps  # it builds on this module's page

    context.update(apps.context(request, membership))
    return context


@dataclass(frozen=True)
class KeyPage:
    """The page a key's dialogs open on and go back to: the API keys page, or a service
    account's page (apikeys.service_account_views)."""

    request: HttpRequest
    membership: Membership
    url: str
    template: str
    context: Callable[[], dict]
    # What every dialog on this page also gets (a service account's page: the account).
    extra: dict = field(default_factory=dict)

    def dialog(self, dialog_template, context, **kwargs):
        return render_dialog(
            self.request,
            dialog_template,
            {"membership": self.membership, **self.extra, **context},
            page_url=self.url,
            page_template=self.template,
            page_context=self.context,
            **kwargs,
        )

    def finish(self):
        return finish(self.request, self.url, trigger=KEYS_CHANGED)


def keys_page(request, membership) -> KeyPage:
    return KeyPage(
        request,
        membership,
        keys_url(membership),
        "apikeys/page.html",
        lambda: page_context(request, membership),
    )


def render_key_dialog(request, membership, dialog_template, context, **kwargs):
    return keys_page(request, membership).dialog(dialog_template, context, **kwargs)


@require_GET
@organization_view
def key_list(request, membership):
    return render(request, "apikeys/page.html", page_context(request, membership))


@require_GET
@organization_view
def my_keys_section(request, membership):
    return render(
        request,
        "apikeys/page.html#my-keys",
        {
            "membership": membership,
            "my_keys": my_keys(membership),
            "key_urls": key_urls(membership),
        },
    )


@require_GET
@organization_view
def org_keys_section(request, membership):
    require_admin(membership)
    response = render(
        request,
        "apikeys/page.html#org-keys",
        {
            "membership": membership,
            "key_urls": key_urls(membership),
            **org_keys_context(request, membership),
        },
    )
    # The address bar keeps the filters and the page: a reload or a shared link shows
    # the same list (the page reads the same query).
    query = request.GET.urlencode()
    response["HX-Replace-Url"] = keys_url(membership) + (f"?{query}" if query else "")
    return response


@dialog_view
def create_key(request, membership):
    return create(keys_page(request, membership), membership)


@sensitive_variables("plaintext", "key")
def create(page: KeyPage, owner: Membership):
    """The create dialog, and the key it makes for `owner` (the signed-in member, or a
    service account of theirs). The acting member needs two-factor where the organization
    asks for it, and a fresh sign-in."""
    request, membership = page.request, page.membership
    if two_factor.missing_for(membership):
        return two_factor_first(page)
    if sso_policy.keys_blocked(request, membership):
        return sso_first(page)
    form = KeyNameForm(
        request.POST or None,
        organization=membership.organization,
        may_administer=owner.is_admin,
    )
    if request.method == "POST":
        sudo.require_fresh_sign_in(request)  # after the role checks: outsiders get 404
    if request.method == "GET" or not form.is_valid():
        status = 400 if form.is_bound else 200
        return page.dialog("apikeys/_create_dialog.html", {"form": form}, status=status)
    try:
        key, plaintext = services.create_key(
            owner.user,
            membership.organization,
            form.cleaned_data["name"],
            expires_at=form.cleaned_data["expires_at"],
            form_id=form.cleaned_data["form_id"],
            allowed_ips=form.cleaned_data["allowed_ips"],
            scopes=form.scopes(),
            created_by=request.user,
            description=form.cleaned_data["description"],
        )
    except services.NotAMember:
        raise Http404 from None
    except (services.PolicyError, services.NameTaken) as error:
        # The policy changed while the form was open, or the name is taken.
        form.add_error("name" if isinstance(error, services.NameTaken) else "expires", str(error))
        return page.dialog("apikeys/_create_dialog.html", {"form": form}, status=400)
    except services.AlreadyCreated as already:
        return page.dialog(
            "apikeys/_already_created_dialog.html", {"key": already.key}, trigger=KEYS_CHANGED
        )
    # The one response that carries the key. never_cache marks it no-store, and no
    # redirect follows: the key is in no URL, session, message or log.
    return reveal(page, key, plaintext)


@sensitive_variables("plaintext")
def reveal(page: KeyPage, key, plaintext, rolled=None):
    """The one response that carries a new key (created, or `rolled` from that key)."""
    return page.dialog(
        "apikeys/_reveal_dialog.html",
        {
            "key": key,
            "rolled": rolled,
            "plaintext": plaintext,
            "curl": clients.curl_me(page.request.build_absolute_uri(settings.API_PATH), plaintext),
        },
        trigger=KEYS_CHANGED,
    )


@dialog_view
def rename_key(request, membership, key_id):
    key = get_own_key_or_404(membership, key_id)
    page = keys_page(request, membership)
    if key.revoked_at is not None:
        return gone(page, key)
    form = RenameForm(
        request.POST or None, initial={"name": key.name, "description": key.description}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.rename_key(
                key, form.cleaned_data["name"], description=form.cleaned_data["description"]
            )
        except services.KeyGone:
            return gone(page, key)
        except services.NameTaken as taken:
            form.add_error("name", str(taken))
        else:
            messages.success(request, _("API key “%(name)s” saved.") % {"name": key.name})
            return page.finish()
    status = 400 if form.is_bound else 200
    return page.dialog("apikeys/_rename_dialog.html", {"key": key, "form": form}, status=status)


@dialog_view
def roll_key(request, membership, key_id):
    return roll(keys_page(request, membership), get_own_key_or_404(membership, key_id))


@sensitive_variables("plaintext")
def roll(page: KeyPage, key):
    """The roll dialog, and the new secret of `key` (one of the member's own, or of a
    service account they manage)."""
    request = page.request
    if two_factor.missing_for(page.membership):
        return two_factor_first(page)
    if sso_policy.keys_blocked(request, page.membership):
        return sso_first(page)
    usable = key.revoked_at is None and not key.is_expired and key.replaced_by_id is None
    if request.method == "GET" and usable:
        return page.dialog("apikeys/_roll_dialog.html", {"key": key, "form": RollForm()})
    if request.method == "POST" and usable:
        sudo.require_fresh_sign_in(request)  # before the form: the replay carries it
    form = RollForm(request.POST)
    if request.method == "POST" and usable and not form.is_valid():
        return page.dialog("apikeys/_roll_dialog.html", {"key": key, "form": form}, status=400)
    try:
        if request.method != "POST":
            raise services.KeyGone
        overlap = form.duration if form.is_valid() else services.ROLL_OVERLAPS["now"]
        new_key, plaintext = services.roll_key(key, request.user, overlap)
    except services.KeyGone:
        return gone(page, key)
    except services.PolicyError as error:  # the owner's role changed meanwhile
        messages.error(request, str(error))
        return page.finish()
    key.refresh_from_db(fields=["expires_at", "revoked_at"])  # when the old secret stops
    return reveal(page, new_key, plaintext, rolled=key)


def two_factor_first(page: KeyPage):
    """The organization requires two-factor for new keys, and this member has none: the
    dialog that says so (a POST is refused, 403, with the same dialog)."""
    status = 403 if page.request.method == "POST" else 200
    return page.dialog("apikeys/_two_factor_required_dialog.html", {}, status=status)


def sso_first(page: KeyPage):
    """The organization requires SSO for new keys, and this session didn't come through
    it: the dialog that says so and where to sign in (a POST is refused, 403)."""
    status = 403 if page.request.method == "POST" else 200
    return page.dialog("apikeys/_sso_required_dialog.html", {}, status=status)


def gone(page: KeyPage, key):
    messages.info(
        page.request,
        _("API key “%(name)s” was already deleted, revoked or expired.") % {"name": key.name},
    )
    return page.finish()


@dialog_view
def delete_key(request, membership, key_id):
    key = get_own_key_or_404(membership, key_id)
    return confirm_then(
        keys_page(request, membership),
        key,
        action=services.delete_key,
        confirm_template="apikeys/_delete_dialog.html",
        done=_("API key “%(name)s” deleted. It no longer works."),
    )


@dialog_view
def revoke_key(request, membership, key_id):
    return revoke(keys_page(request, membership), get_org_key_or_404(membership, key_id))


def revoke(page: KeyPage, key):
    """An Admin or Owner revokes a key of the organization (a fresh sign-in first when it
    is not their own)."""
    if page.request.method == "POST" and key.user_id != page.request.user.pk:
        sudo.require_fresh_sign_in(page.request)
    return confirm_then(
        page,
        key,
        action=services.revoke_key,
        confirm_template="apikeys/_revoke_dialog.html",
        done=_("API key “%(name)s” revoked. It no longer works."),
    )


@require_GET
@organization_view
def mcp_server(request, membership):
    server_url = request.build_absolute_uri(settings.MCP_PATH)
    return render(
        request,
        "apikeys/mcp_server.html",
        {
            "membership": membership,
            "server_url": server_url,
            # Exactly the OAuth tokens' audience, so it is PUBLIC_URL's, not the request's.
            "oauth_server_url": settings.MCP_OAUTH_RESOURCE,
            "snippets": clients.mcp_client_snippets(server_url),
            "curl": clients.curl_me(request.build_absolute_uri(settings.API_PATH)),
            "management": clients.management_calls(request.build_absolute_uri(settings.API_PATH)),
            "mcp_management": clients.mcp_management_script(server_url),
            "api_docs_url": f"{settings.API_PATH}docs",
        },
    )


def confirm_then(page: KeyPage, key, *, action, confirm_template, done):
    """GET asks for confirmation; POST acts. A key that is already gone (another tab, a
    double submit) gets a friendly note and the lists refresh."""
    request = page.request
    if request.method == "GET" and key.revoked_at is None:
        return page.dialog(confirm_template, {"key": key})
    if request.method == "POST" and action(key, request.user):
        messages.success(request, done % {"name": key.name})
    else:
        messages.info(
            request, _("API key “%(name)s” was already deleted or revoked.") % {"name": key.name}
        )
    return page.finish()
