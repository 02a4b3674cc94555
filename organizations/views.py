from functools import wraps

from django.conf import settings as django_settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, F, Q
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from accounts import sudo, two_factor
from ui.htmx import finish, render_dialog, render_partial
from ui.pages import page_of, without_page

from . import access, audit_csv, invitations, services
from .decorators import CURRENT_ORG_SESSION_KEY, dialog_view, organization_view
from .forms import AuditFilterForm, InviteForm, KeyPolicyForm, RoleForm, TwoFactorPolicyForm
from .models import AuditEvent, Invitation, Membership, Role, ServiceAccount

MEMBERS_CHANGED = "members-changed"


@require_GET
@login_required
def home(request):
    """Take the user to the API keys of their current organization: the one they used
    last, else the first by name."""
    memberships = list(
        Membership.objects.filter(user=request.user)
        .select_related("organization")
        .order_by("organization__name")
    )
    if not memberships:
        return render(request, "organizations/no_organization.html")
    current = request.session.get(CURRENT_ORG_SESSION_KEY)
    chosen = next((m for m in memberships if m.organization.slug == current), memberships[0])
    return redirect("apikeys:list", org=chosen.organization.slug)


MEMBERS_PER_PAGE = 50


def people(membership: Membership):
    """The organization's people (service accounts have a list of their own), each with
    whether they have a second factor (`has_two_factor`)."""
    return Membership.objects.filter(
        organization_id=membership.organization_id, user__service_account__isnull=True
    ).annotate(has_two_factor=two_factor.annotation())


# ?two_factor=off: only the people without a second factor (Settings links here).
WITHOUT_TWO_FACTOR = "off"


def members_context(request, membership: Membership, invite_form=None) -> dict:
    members = people(membership).select_related("user").order_by("user__name", "user__email", "pk")
    without_two_factor = membership.is_admin and request.GET.get("two_factor") == WITHOUT_TWO_FACTOR
    if without_two_factor:
        members = members.filter(has_two_factor=False)
    # Counted, for "N members"; past the end it shows the last page.
    page = page_of(
        members, request.GET.get("page"), MEMBERS_PER_PAGE, counted=True, last_past_end=True
    )
    roles = access.assignable_roles(membership)
    rows = []
    for member in page.object_list:
        manageable = access.can_manage(membership, member)
        # Each row's select has an id of its own: role-<member id>. A role picked in it
        # opens its confirmation (console.js applies the pick: change_role's dialog).
        role_form = None
        if manageable:
            role_form = RoleForm(
                auto_id=f"%s-{member.pk}", initial={"role": member.role}, roles=roles
            )
            role_form.fields["role"].widget.attrs["data-apply-on-change"] = ""
        rows.append({"member": member, "manageable": manageable, "role_form": role_form})
    open_invitations = []
    if membership.is_admin:
        if invite_form is None:
            invite_form = InviteForm(roles=roles)
        open_invitations = [
            {"invitation": invitation, "manageable": invitation.role in roles}
            for invitation in Invitation.objects.filter(
                organization_id=membership.organization_id, accepted_at=None, revoked_at=None
            ).order_by("-sent_at", "-id")[:OPEN_INVITATIONS_SHOWN]
        ]
    return {
        "membership": membership,
        "accounts_page": service_accounts_page(request, membership),
        "rows": rows,
        "members_page": page,
        "without_two_factor": without_two_factor,
        "filter_query": without_page(request),
        "invite_form": invite_form,
        "open_invitations": open_invitations,
        "invitation_days": django_settings.INVITATION_LIFETIME.days,
    }


SERVICE_ACCOUNTS_PER_PAGE = 20


def service_accounts_page(request, membership: Membership):
    """The organization's service accounts, each with its role and how many of its keys
    work now (one query for the page)."""
    now = timezone.now()
    working = Q(user__api_keys__revoked_at=None) & (
        Q(user__api_keys__expires_at=None) | Q(user__api_keys__expires_at__gt=now)
    )
    accounts = (
        ServiceAccount.objects.filter(organization_id=membership.organization_id, deleted_at=None)
        .select_related("user")
        .annotate(
            role=F("user__memberships__role"), working_keys=Count("user__api_keys", filter=working)
        )
        .order_by("user__name", "pk")
    )
    page = page_of(
        accounts, request.GET.get("accounts_page"), SERVICE_ACCOUNTS_PER_PAGE, counted=True
    )
    for account in page.object_list:
        account.role_label = Role(account.role).label
    return page


# Open invitations are few (each is one address waiting a week at most); the list shows
# the newest this many.
OPEN_INVITATIONS_SHOWN = 100


def render_members(request, membership, *, invite_form=None, status=200):
    context = members_context(request, membership, invite_form)
    if request.htmx:
        return render_partial(
            request, "organizations/members.html#members-panel", context, status=status
        )
    return render(request, "organizations/members.html", context, status=status)


def members_url(membership: Membership) -> str:
    return reverse("organizations:members", kwargs={"org": membership.organization.slug})


@require_GET
@vary_on_headers("HX-Request")
@organization_view
def member_list(request, membership):
    return render_members(request, membership)


@require_POST
@organization_view
def invite(request, membership):
    access.require_admin(membership)
    sudo.require_fresh_sign_in(request)  # it hands a role to someone new
    form = InviteForm(request.POST, roles=access.assignable_roles(membership))
    if form.is_valid():
        replaced = invitations.open_invitation(membership.organization, form.cleaned_data["email"])
        if replaced is not None:  # renewing it is resending it: Owners' are for Owners
            access.require_can_assign(membership, replaced.role)
        try:
            sent = invitations.invite(
                membership.organization,
                form.cleaned_data["email"],
                form.cleaned_data["role"],
                invited_by=request.user,
            )
        except services.MembershipError as error:
            form.add_error("email", str(error))
        else:
            say_sent(request, sent)
            if not request.htmx:
                return redirect(members_url(membership))
            form = None
    status = 400 if form is not None else 200
    return render_members(request, membership, invite_form=form, status=status)


def say_sent(request, sent) -> None:
    email = sent.invitation.email
    if sent.delivered:
        messages.success(
            request,
            _("We sent an invitation to %(email)s. The link works for %(days)s days.")
            % {"email": email, "days": django_settings.INVITATION_LIFETIME.days},
        )
    else:
        messages.error(
            request,
            _(
                "The invitation to %(email)s is saved, but the mail server didn't take the "
                "email. Try Resend in a few minutes."
            )
            % {"email": email},
        )


def invitation_action(act):
    """A POST on one open invitation by an Admin or Owner (Owners' invitations: Owners
    only); the members panel for htmx, the Members page otherwise."""

    @require_POST
    @organization_view
    @wraps(act)
    def view(request, membership, invitation_id):
        invitation = access.get_invitation_or_404(membership, invitation_id)
        access.require_can_assign(membership, invitation.role)
        sudo.require_fresh_sign_in(request)  # a role offered again, or withdrawn
        act(request, invitation)
        if not request.htmx:
            return redirect(members_url(membership))
        return render_members(request, membership)

    return view


@invitation_action
def resend_invitation(request, invitation):
    try:
        say_sent(request, invitations.resend(invitation, invited_by=request.user))
    except services.MembershipError as error:
        messages.error(request, str(error))


@invitation_action
def revoke_invitation(request, invitation):
    invitations.revoke(invitation)
    messages.success(
        request, _("The invitation to %(email)s was revoked.") % {"email": invitation.email}
    )


def apply_role_form(request, membership, target) -> str:
    """The posted role for `target` (a person, or a service account), within what
    `membership` may assign; a message says it changed. Returns why it didn't ("": it
    did)."""
    form = RoleForm(request.POST)
    if not form.is_valid():
        return form.errors["role"][0]
    role = form.cleaned_data["role"]
    access.require_can_assign(membership, role)
    try:
        services.change_role(target, role)
    except services.MembershipError as error:
        return str(error)
    messages.success(
        request,
        _("%(name)s is now %(role)s.")
        % {"name": target.user.name, "role": target.get_role_display()},
    )
    return ""


@dialog_view
def change_role(request, membership, member_id):
    """A member's role, changed with one confirmation: picking a role in their row opens
    this dialog (GET, the role picked), whose button applies it (POST)."""
    target = access.get_member_or_404(membership, member_id)
    access.require_can_manage(membership, target)
    if request.method == "GET" and "role" not in request.GET:
        return finish(request, members_url(membership))  # nothing picked (back from sign-in)
    if request.method == "GET":
        form = RoleForm(request.GET)
        if form.is_valid():
            access.require_can_assign(membership, form.cleaned_data["role"])
            if form.cleaned_data["role"] == target.role:  # picked again: nothing to ask
                return finish(request, members_url(membership))
        return role_dialog(
            request, membership, target, form, status=200 if form.is_valid() else 400
        )
    sudo.require_fresh_sign_in(request)
    error = apply_role_form(request, membership, target)
    if error and request.htmx:  # said in the dialog, which stays open
        return role_dialog(request, membership, target, RoleForm(request.POST), error=error)
    if error:
        messages.error(request, error)
    return finish(request, members_url(membership), trigger=MEMBERS_CHANGED)


ROLE_POWERS = {
    Role.OWNER: gettext_lazy("Owners manage everything, including who is an Owner."),
    Role.ADMIN: gettext_lazy("Admins manage members, service accounts and every API key here."),
    Role.MEMBER: gettext_lazy(
        "Members manage their own API keys only. Their keys lose organization administration."
    ),
}


def role_dialog(request, membership, target, form, *, error="", status=None):
    role = form.cleaned_data.get("role") if form.is_valid() else None
    return render_dialog(
        request,
        "organizations/_role_dialog.html",
        {
            "membership": membership,
            "target": target,
            "role": role,
            "role_label": Role(role).label if role else "",
            "powers": ROLE_POWERS.get(role, ""),
            "error": error or (form.errors["role"][0] if form.errors else ""),
        },
        page_url=members_url(membership),
        page_template="organizations/members.html",
        page_context=lambda: members_context(request, membership),
        status=status or (400 if error else 200),
    )


def removal_dialog(request, membership, target, *, status=200, error=""):
    # What the removal does to keys is the keys app's to say (its template tags, beside
    # the receiver that revokes them): this app doesn't read keys.
    return render_dialog(
        request,
        "organizations/_remove_dialog.html",
        {"membership": membership, "target": target, "error": error},
        page_url=members_url(membership),
        page_template="organizations/members.html",
        page_context=lambda: members_context(request, membership),
        status=status,
    )


@dialog_view
def remove_member(request, membership, member_id):
    target = access.get_member_or_404(membership, member_id)
    access.require_can_manage(membership, target)
    return remove_after_confirmation(request, membership, target)


@dialog_view
def leave(request, membership):
    return remove_after_confirmation(request, membership, membership)


def remove_after_confirmation(request, membership, target):
    if request.method == "GET":
        return removal_dialog(request, membership, target)
    sudo.require_fresh_sign_in(request)  # it revokes every key they made here
    try:
        services.remove_member(target)
    except services.MembershipError as error:
        if request.htmx:  # said in the dialog, which stays open
            return removal_dialog(request, membership, target, status=400, error=str(error))
        messages.error(request, str(error))
        return redirect(members_url(membership))
    if target.pk == membership.pk:
        messages.success(
            request,
            _("You left %(organization)s.") % {"organization": membership.organization.name},
        )
        request.session.pop(CURRENT_ORG_SESSION_KEY, None)
        return finish(request, reverse("home"), redirect_htmx=True)
    messages.success(
        request,
        _("%(name)s was removed from %(organization)s. Their API keys in it were revoked.")
        % {"name": target.user.name, "organization": membership.organization.name},
    )
    return finish(request, members_url(membership), trigger=MEMBERS_CHANGED)


@require_http_methods(["GET", "POST"])
@organization_view
def settings_page(request, membership):
    access.require_owner(membership)
    if request.method == "POST":
        sudo.require_fresh_sign_in(request)
    organization = membership.organization
    form = KeyPolicyForm(
        request.POST or None, initial={"max_key_lifetime_days": organization.max_key_lifetime_days}
    )
    if request.method == "POST" and form.is_valid():
        services.set_key_lifetime_policy(organization, form.cleaned_data["max_key_lifetime_days"])
        messages.success(request, _("Settings saved."))
        return redirect("organizations:settings", org=organization.slug)
    return render_settings(request, membership, key_form=form)


@require_POST
@organization_view
def two_factor_policy(request, membership):
    access.require_owner(membership)
    sudo.require_fresh_sign_in(request)
    form = TwoFactorPolicyForm(request.POST)
    if form.is_valid():  # checkboxes: any post is valid
        required = form.cleaned_data["require_two_factor"]
        # An Owner without a second factor would hold back their own keys: asked first.
        if (
            required
            and not membership.organization.require_two_factor
            and not two_factor.is_enabled(request.user)
            and not form.cleaned_data["confirmed"]
        ):
            return render_settings(request, membership, key_form=None, confirm_two_factor=True)
        services.set_two_factor_policy(membership.organization, required)
        messages.success(request, _("Settings saved."))
    return redirect("organizations:settings", org=membership.organization.slug)


def render_settings(
    request, membership, *, key_form, confirm_two_factor=False, extra=None, status=None
):
    """The Settings page; `extra`: context of a section another app adds (sso/), with
    the `status` its bound form's errors call for."""
    organization = membership.organization
    if key_form is None:
        key_form = KeyPolicyForm(
            initial={"max_key_lifetime_days": organization.max_key_lifetime_days}
        )
    return render(
        request,
        "organizations/settings.html",
        {
            "membership": membership,
            "form": key_form,
            "two_factor_form": TwoFactorPolicyForm(
                initial={"require_two_factor": organization.require_two_factor}
            ),
            # People only: a service account never signs in, so never has a second factor.
            "without_two_factor": people(membership).filter(has_two_factor=False).count(),
            "without_two_factor_query": f"two_factor={WITHOUT_TWO_FACTOR}",
            "owner_has_two_factor": two_factor.is_enabled(request.user),
            "confirm_two_factor": confirm_two_factor,
            **(extra or {}),
        },
        status=status or (400 if key_form.is_bound else 200),
    )


AUDIT_EVENTS_PER_PAGE = 50


def audit_events(request, membership):
    """The organization's audit events the request's filters choose, newest first."""
    return AuditFilterForm(request.GET).filter(
        AuditEvent.objects.filter(organization_id=membership.organization_id).select_related(
            "actor__service_account", "target_user"
        )
    )


@require_GET
@organization_view
def audit_log(request, membership):
    access.require_admin(membership)
    filters = AuditFilterForm(request.GET)
    events = audit_events(request, membership)
    return render(
        request,
        "organizations/audit.html",
        {
            "membership": membership,
            "filters": filters,
            "events_page": page_of(
                events, request.GET.get("page"), AUDIT_EVENTS_PER_PAGE, counted=True
            ),
            "filter_query": without_page(request),
        },
    )


@require_GET
@organization_view
def audit_export(request, membership):
    """The filtered audit log as CSV, for Admins and Owners: what the page shows, every
    page of it (never a secret: the log holds none)."""
    access.require_admin(membership)
    rows = audit_csv.rows(
        audit_events(request, membership).iterator(chunk_size=500),
        timezone.get_current_timezone(),
    )
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    day = timezone.localdate().isoformat()
    name = f"audit-{membership.organization.slug}-{day}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
