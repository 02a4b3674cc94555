"""Service accounts in the console: created from the Members page by an Admin or Owner,
each with a page of its own where they make, roll and revoke its keys, change its role,
and disable, enable or delete it. The key dialogs are the API keys page's (apikeys.views),
opened on this page. Members see service accounts listed on the Members page only."""

from functools import wraps

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts import sudo
from organizations import access
from organizations import views as members
from organizations.decorators import dialog_view, organization_view
from organizations.forms import RoleForm
from organizations.models import Membership
from ui.htmx import finish, render_dialog

from . import service_accounts
from .access import get_service_account_key_or_404, get_service_account_or_404
from .forms import ServiceAccountForm
from .views import KeyPage, KeyUrls, create, my_keys, revoke, roll


def account_url(account: Membership) -> str:
    return reverse(
        "service_accounts:detail",
        kwargs={"org": account.organization.slug, "account_id": account.user_id},
    )


def assignable_roles(membership: Membership) -> list:
    return [role for role in access.assignable_roles(membership) if role in service_accounts.ROLES]


def page_context(membership: Membership, account: Membership) -> dict:
    return {
        "membership": membership,
        "account": account,
        "service_account": account.user.service_account,
        "account_keys": my_keys(account).select_related("created_by"),
        "key_urls": KeyUrls(
            "service_accounts:key_",
            {"org": membership.organization.slug, "account_id": account.user_id},
        ),
        "role_form": RoleForm(
            auto_id="account-%s", initial={"role": account.role}, roles=assignable_roles(membership)
        ),
    }


def account_page(request, membership, account) -> KeyPage:
    return KeyPage(
        request,
        membership,
        account_url(account),
        "apikeys/service_account.html",
        lambda: page_context(membership, account),
        extra={"account": account},
    )


def account_view(view):
    """Under organization_view (or dialog_view), for views of one service account: its
    Admins and Owners only (403 for Members, 404 outside the organization or once it is
    deleted); the view gets the account's membership instead of its id."""

    @wraps(view)
    def wrapper(request, membership, account_id, *args, **kwargs):
        account = get_service_account_or_404(membership, account_id)
        return view(request, membership, account, *args, **kwargs)

    return wrapper


@dialog_view
def create_account(request, membership):
    access.require_admin(membership)
    if request.method == "POST":
        sudo.require_fresh_sign_in(request)  # a new identity with a role
    posted = request.POST if request.method == "POST" else None  # an empty POST is a 400
    form = ServiceAccountForm(posted, roles=assignable_roles(membership))
    if request.method == "POST" and form.is_valid():
        try:
            created = service_accounts.create(
                membership.organization,
                form.cleaned_data["name"],
                form.cleaned_data["description"],
                form.cleaned_data["role"],
                actor=request.user,
            )
        except service_accounts.ServiceAccountError as error:
            form.add_error("name", str(error))
        else:
            messages.success(
                request,
                _("Service account “%(name)s” created. Create its first API key here.")
                % {"name": created.user.name},
            )
            account = get_service_account_or_404(membership, created.pk)
            return finish(request, account_url(account), redirect_htmx=True)
    return render_dialog(
        request,
        "apikeys/_service_account_dialog.html",
        {"membership": membership, "form": form},
        page_url=members.members_url(membership),
        page_template="organizations/members.html",
        page_context=lambda: members.members_context(request, membership),
        status=400 if form.is_bound else 200,
    )


@require_GET
@organization_view
@account_view
def detail(request, membership, account):
    return render(request, "apikeys/service_account.html", page_context(membership, account))


@require_GET
@organization_view
@account_view
def keys_section(request, membership, account):
    return render(
        request, "apikeys/service_account.html#account-keys", page_context(membership, account)
    )


@dialog_view
@account_view
def create_key(request, membership, account):
    page = account_page(request, membership, account)
    if account.user.service_account.is_disabled:
        return disabled(page)
    return create(page, account)


def disabled(page: KeyPage):
    """A disabled account gets no new key or secret (they would only be refused)."""
    status = 400 if page.request.method == "POST" else 200
    return page.dialog("apikeys/_account_disabled_dialog.html", {}, status=status)


@dialog_view
@account_view
def roll_key(request, membership, account, key_id):
    key = get_service_account_key_or_404(account, key_id)
    page = account_page(request, membership, account)
    if account.user.service_account.is_disabled:
        return disabled(page)
    return roll(page, key)


@dialog_view
@account_view
def revoke_key(request, membership, account, key_id):
    key = get_service_account_key_or_404(account, key_id)
    return revoke(account_page(request, membership, account), key)


def account_action(act):
    """A POST that changes what one service account may do (account_view: its Admins and
    Owners; a fresh sign-in), then back to its page, where a message says what happened."""

    @require_POST
    @organization_view
    @account_view
    @wraps(act)
    def view(request, membership, account):
        sudo.require_fresh_sign_in(request)
        act(request, membership, account)
        return redirect(account_url(account))

    return view


@account_action
def change_role(request, membership, account):
    if error := members.apply_role_form(request, membership, account):
        messages.error(request, error)


@account_action
def disable(request, membership, account):
    service_accounts.disable(account.user.service_account)
    messages.success(
        request,
        _("%(name)s is disabled. Its API keys are refused until you enable it again.")
        % {"name": account.user.name},
    )


@account_action
def enable(request, membership, account):
    service_accounts.enable(account.user.service_account)
    messages.success(
        request, _("%(name)s is enabled. Its API keys work again.") % {"name": account.user.name}
    )


@dialog_view
@account_view
def delete(request, membership, account):
    if request.method == "GET":
        return account_page(request, membership, account).dialog(
            "apikeys/_service_account_delete_dialog.html",
            {"doomed_keys": my_keys(account)},
        )
    sudo.require_fresh_sign_in(request)  # it revokes keys others rely on, for good
    service_accounts.delete(account.user.service_account)
    messages.success(
        request,
        _("Service account “%(name)s” deleted. Its API keys were revoked.")
        % {"name": account.user.name},
    )
    return finish(request, members.members_url(membership), redirect_htmx=True)
