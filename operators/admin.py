"""Django admin for people and organizations, and what it shows of third-party apps.

Every change an operator makes goes through a service and into a log with the operator
as actor: a person's address, password and rights (accounts.services, the operators'
log), an organization's name and policies and its members (organizations.services, its
own log). What ends or suspends something asks for a reason first, on a page of its own
(`ReasonedActions`). Nothing here shows or edits a secret: third-party admins that would
(second factors, OAuth tokens, sessions) are replaced by read-only ones or removed.
"""

from dataclasses import dataclass

# Their admin modules register their models on import: imported here first, so the
# registrations below replace theirs whatever the order of INSTALLED_APPS.
import allauth.account.admin
import allauth.mfa.admin
import allauth.socialaccount.admin
import allauth.usersessions.admin  # noqa: F401
import oauth2_provider.admin  # noqa: F401
import post_office.admin  # noqa: F401
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from allauth.usersessions.models import UserSession
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, AdminUserCreationForm
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.forms.models import BaseInlineFormSet
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods
from oauth2_provider.models import AccessToken, Application, Grant, IDToken, RefreshToken
from post_office.models import Attachment, Email, EmailTemplate, Log

from accounts import services as accounts
from organizations import services as organizations
from organizations.models import Membership, Organization, Role, User
from ui.admin import ActOnlyAdmin

from . import people
from . import services as operators

# What would show or let an operator set a secret, or edit what another app owns: OAuth
# tokens, codes and client registrations (grants are Authorized apps), sessions (their
# keys are bearer credentials; the person page lists them), permission groups (an
# operator is staff, or staff and superuser, set on the person page and logged), and
# post_office's templates and attachments (unused: notices are rendered here), and single
# sign-on's apps, links and tokens (an app holds its client secret; Owners connect their
# provider in Settings, sso.services).
for model in (
    AccessToken,
    RefreshToken,
    Grant,
    IDToken,
    Application,
    UserSession,
    Group,
    EmailTemplate,
    Attachment,
    Authenticator,
    EmailAddress,
    Email,
    Log,
    SocialApp,
    SocialAccount,
    SocialToken,
):
    admin.site.unregister(model)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Kept in the log with your name.",
    )


def always(row) -> bool:
    return True


@dataclass(frozen=True)
class ReasonedAction:
    """One action on one row that asks why first. `act(row, reason, request)` calls the
    service and returns whether it changed anything; `applies(row)` says whether the
    row's page offers it."""

    label: str
    explanation: str
    act: object
    done: str
    nothing_to_do: str
    applies: object = always


class ReasonedActions:
    """A row's actions that each ask for a reason on a page of their own
    (`<id>/act/<action>/`), call a service, and come back to the row's page with what
    happened. The row's page links to them (object-tools)."""

    reasoned_actions: dict[str, ReasonedAction] = {}
    refusals: tuple = ()  # the services' exceptions whose message is for the operator

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_act"
        view = self.admin_site.admin_view(require_http_methods(["GET", "POST"])(self.act_view))
        return [path("<path:object_id>/act/<slug:action>/", view, name=name), *super().get_urls()]

    def act_view(self, request, object_id, action):
        row = self.get_object(request, unquote(object_id))
        spec = self.reasoned_actions.get(action)
        if row is None or spec is None:
            raise Http404
        if not self.has_change_permission(request):
            raise PermissionDenied
        form = ReasonForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            try:
                changed = spec.act(row, reason, request)
            except self.refusals as refusal:
                form.add_error(None, str(refusal))
            else:
                self.message_user(request, spec.done if changed else spec.nothing_to_do)
                if changed:
                    self.log_change(request, row, f"{spec.label}: {reason}")
                return redirect(
                    reverse(
                        f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[row.pk]
                    )
                )
        context = {
            **self.admin_site.each_context(request),
            "title": f"{spec.label}: {row}",
            "opts": self.opts,
            "original": row,
            "action": spec,
            "form": form,
        }
        return TemplateResponse(
            request, "admin/operators/reason.html", context, status=400 if form.errors else 200
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        row = self.get_object(request, unquote(object_id))
        extra_context = {**(extra_context or {}), **(self.row_context(row) if row else {})}
        return super().change_view(request, object_id, form_url, extra_context)

    def row_context(self, row) -> dict:
        """What the row's page shows besides its form: the actions it offers."""
        offered = [
            (slug, spec.label) for slug, spec in self.reasoned_actions.items() if spec.applies(row)
        ]
        return {"reasoned_actions": offered}


# People


class PersonCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "name")

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()  # as sign-in finds it
        try:
            accounts.check_change(None, email=email)
        except accounts.AccountError as refusal:
            raise ValidationError(str(refusal)) from None
        return email


class PersonForm(forms.ModelForm):
    """What an operator changes on a person's page, each through accounts.services: the
    address and their rights in Django admin. (Their name is theirs to change; being
    active is Suspend and Reactivate; the password has its own page.)"""

    class Meta:
        model = User
        fields = ["email", "is_staff", "is_superuser"]
        labels = {"is_staff": "Operator (Django admin)", "is_superuser": "Superuser"}
        help_texts = {
            "is_staff": "Signs in to Django admin (with two-factor where it is required).",
            "is_superuser": "Has every permission in Django admin.",
        }

    def clean(self):
        data = super().clean()
        current = User.objects.get(pk=self.instance.pk)
        email = data.get("email")
        try:
            accounts.check_change(
                current,
                email=email.strip().lower() if email else None,
                rights=bool(data.get("is_staff") and not current.is_staff)
                or bool(data.get("is_superuser") and not current.is_superuser),
            )
        except accounts.AccountError as refusal:
            raise ValidationError(str(refusal)) from None
        return data


class PasswordForm(AdminPasswordChangeForm):
    """Django admin's password page, saved through accounts.services (logged)."""

    def save(self, commit=True):
        usable = self.cleaned_data.get("set_usable_password", True)
        accounts.set_password(self.user, self.cleaned_data["password1"] if usable else None)
        return self.user


def _state(user) -> str:
    if user.deleted_at:
        return "Deleted"
    if user.is_service_account:
        return "Service account" if user.is_active else "Service account (disabled)"
    return "Active" if user.is_active else "Suspended"


def _a_person(user) -> bool:
    return user.deleted_at is None and not user.is_service_account


def _to_someone_else(act):
    """What would lock an operator out of admin is done to them by another operator."""

    def guarded(user, reason, request):
        if user.pk == request.user.pk:
            raise accounts.AccountError("Another operator does this to your own account.")
        return act(user, reason, request)

    return guarded


@admin.register(User)
class PersonAdmin(ReasonedActions, BaseUserAdmin):
    """One page per person: who they are, their organizations and roles, keys, authorized
    apps, second factors, sessions and recent audit events, with what operators do to
    them (each asks why): revoke every credential, suspend or reactivate, reset
    two-factor, delete."""

    form = PersonForm
    add_form = PersonCreationForm
    change_password_form = PasswordForm
    change_form_template = "admin/operators/person.html"
    ordering = ["email"]
    list_display = ["email", "name", "state", "is_staff", "is_superuser", "date_joined"]
    list_select_related = ["service_account"]
    list_filter = [
        "is_active",
        ("deleted_at", admin.EmptyFieldListFilter),
        "is_staff",
        "is_superuser",
    ]
    search_fields = ["email", "name"]
    readonly_fields = ["name", "state", "password_state", "last_login", "date_joined"]
    fieldsets = [
        (None, {"fields": ["email", "name", "state", "password_state"]}),
        ("Django admin", {"fields": ["is_staff", "is_superuser"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "name", "password1", "password2"]}),
    ]
    refusals = (accounts.AccountError,)
    reasoned_actions = {
        "revoke-credentials": ReasonedAction(
            "Revoke every credential",
            "Every API key and authorized app of this person, in every organization, stops "
            "working now, and they are signed out everywhere. They keep their account and "
            "memberships, and get one email listing their revoked keys.",
            lambda user, reason, request: operators.revoke_every_credential(
                user, request.user, reason
            ),
            "Revoked every credential.",
            "There was nothing to revoke.",
            applies=lambda user: user.deleted_at is None,
        ),
        "suspend": ReasonedAction(
            "Suspend",
            "Signs this person out, refuses their sign-in and revokes every key and "
            "authorized app of theirs, in every organization. Reactivate lets them sign in "
            "again; nothing revoked comes back.",
            _to_someone_else(lambda user, reason, request: accounts.suspend(user, reason)),
            "Suspended.",
            "Already suspended.",
            applies=lambda user: _a_person(user) and user.is_active,
        ),
        "reactivate": ReasonedAction(
            "Reactivate",
            "Lets this person sign in again. Nothing revoked comes back: they make new "
            "keys and authorize their apps again.",
            lambda user, reason, request: accounts.reactivate(user, reason),
            "Reactivated.",
            "Already active.",
            applies=lambda user: _a_person(user) and not user.is_active,
        ),
        "reset-two-factor": ReasonedAction(
            "Reset two-factor",
            "Removes this person's authenticator app, passkeys and recovery codes, as "
            "turning two-factor off does. They sign in with their password alone and turn "
            "it on again.",
            _to_someone_else(lambda user, reason, request: accounts.reset_two_factor(user, reason)),
            "Reset two-factor.",
            "This person has no second factor.",
            applies=_a_person,
        ),
        "delete": ReasonedAction(
            "Delete person",
            "Removes this person from every organization as the console does (their keys "
            "and authorized apps are revoked, each removal logged; an organization's last "
            "Owner must be replaced first), then anonymises the account: no name, address, "
            "password, second factor, session or rights are left. Their keys and audit "
            "entries keep their history.",
            _to_someone_else(lambda user, reason, request: accounts.delete_person(user, reason)),
            "Deleted.",
            "Already deleted.",
            applies=_a_person,
        ),
    }

    @admin.display(description="State")
    def state(self, user):
        return _state(user)

    @admin.display(description="Password")
    def password_state(self, user):
        return "Set" if user.has_usable_password() else "None (passkey or reset by email)"

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else []

    def has_delete_permission(self, request, obj=None):
        return False  # Delete person (above): through the service

    def get_search_results(self, request, queryset, search_term):
        results, duplicates = super().get_search_results(request, queryset, search_term)
        if request.GET.get("model_name") == "membership":  # the members inline's search
            results = results.filter(service_account__isnull=True, deleted_at=None)
        return results, duplicates

    def save_model(self, request, obj, form, change):
        if not change:
            accounts.open_account(obj)
            return
        # The form has already written its values on `obj`: the services compare with
        # the database.
        try:
            accounts.change_email(obj, form.cleaned_data["email"])
            accounts.set_operator_rights(
                obj,
                is_staff=form.cleaned_data["is_staff"],
                is_superuser=form.cleaned_data["is_superuser"],
            )
        except accounts.AccountError as error:
            obj.refresh_from_db()
            messages.error(request, str(error))

    def row_context(self, person) -> dict:
        return {**super().row_context(person), **people.overview(person)}


# Organizations


class MembershipFormSet(BaseInlineFormSet):
    def clean(self):
        """The last Owner can't be removed or demoted here either: said on the form,
        before anything is saved (organizations.services has the final word)."""
        super().clean()
        if any(self.errors) or self.instance.pk is None:
            return
        had_owners = any(form.initial.get("role") == Role.OWNER for form in self.initial_forms)
        kept = [form for form in self.forms if form not in self.deleted_forms]
        if had_owners and not any(form.cleaned_data.get("role") == Role.OWNER for form in kept):
            raise ValidationError(organizations.LAST_OWNER_MESSAGE)


class MembershipInline(admin.TabularInline):
    """Members, changed through organizations.services: added, their role changed,
    removed (their keys and grants revoked), as the console does it."""

    model = Membership
    formset = MembershipFormSet
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")

    def has_add_permission(self, request, obj=None):
        return obj is None or obj.closed_at is None  # a closed one has none, and gets none

    has_change_permission = has_delete_permission = has_add_permission


def _lifetime_choices(current):
    offered = [(days, f"{days} days") for days in organizations.KEY_LIFETIME_CHOICES]
    if current is not None and current not in organizations.KEY_LIFETIME_CHOICES:
        offered.append((current, f"{current} days (no longer offered)"))
    return [("", "No limit"), *offered]


class OrganizationForm(forms.ModelForm):
    """The organization's name and the Owners' two policies, each changed through its
    service (logged, the lifetime one of the offered values). Its address is fixed."""

    max_key_lifetime_days = forms.TypedChoiceField(
        label="Maximum API key lifetime",
        coerce=int,
        empty_value=None,
        required=False,
    )

    class Meta:
        model = Organization
        fields = ["name", "max_key_lifetime_days", "require_two_factor"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["max_key_lifetime_days"].choices = _lifetime_choices(
            self.instance.max_key_lifetime_days
        )


class NewOrganizationForm(forms.ModelForm):
    owner = forms.EmailField(
        label="Owner's email", help_text="Someone with an account; they become its Owner."
    )

    class Meta:
        model = Organization
        fields = ["name", "slug"]

    def clean_owner(self):
        email = self.cleaned_data["owner"].strip()
        owner = User.objects.filter(
            email__iexact=email, service_account__isnull=True, deleted_at=None
        ).first()
        if owner is None:
            raise ValidationError(f"No Genesis account uses {email}.")
        return owner


@admin.register(Organization)
class OrganizationAdmin(ReasonedActions, admin.ModelAdmin):
    form = OrganizationForm
    change_form_template = "admin/operators/change_form.html"
    list_display = ["name", "slug", "state", "members", "created_at"]
    list_filter = [("closed_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]
    reasoned_actions = {
        "close": ReasonedAction(
            "Close organization",
            "Revokes every open invitation, deletes its service accounts and removes every "
            "member as the console does (their keys and authorized apps in it are revoked, "
            "and each is told), and nobody joins it again. Its audit log stays. An "
            "organization is closed, never deleted.",
            lambda organization, reason, request: organizations.close_organization(
                organization, reason
            ),
            "Closed.",
            "Already closed.",
            applies=lambda organization: organization.closed_at is None,
        ),
        "reopen": ReasonedAction(
            "Reopen organization",
            "Lets operators add members again. Nothing revoked comes back.",
            lambda organization, reason, request: organizations.reopen_organization(
                organization, reason
            ),
            "Reopened.",
            "Already open.",
            applies=lambda organization: organization.closed_at is not None,
        ),
    }

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_count=Count("memberships"))

    @admin.display(description="State")
    def state(self, organization):
        return "Closed" if organization.closed_at else "Open"

    @admin.display(description="Members", ordering="member_count")
    def members(self, organization):
        return organization.member_count

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = NewOrganizationForm
        return super().get_form(request, obj, change, **kwargs)

    def get_prepopulated_fields(self, request, obj=None):
        return {} if obj else {"slug": ["name"]}

    def get_readonly_fields(self, request, obj=None):
        return ["slug", "state", "created_at"] if obj else []

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "slug", "owner"]
        return ["name", "slug", "state", "created_at", *OrganizationForm.Meta.fields[1:]]

    def has_delete_permission(self, request, obj=None):
        return False  # closed (above), never deleted: its audit log outlives it

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if not change:
            created = organizations.create_organization(data["name"], data["slug"], data["owner"])
            obj.pk, obj.created_at = created.pk, created.created_at
            return
        current = Organization.objects.get(pk=obj.pk)  # `obj` has the form's values
        organizations.rename_organization(current, data["name"])
        if "max_key_lifetime_days" in form.changed_data:
            organizations.set_key_lifetime_policy(current, data["max_key_lifetime_days"])
        organizations.set_two_factor_policy(current, data["require_two_factor"])

    def save_formset(self, request, form, formset, change):
        deleted = set(formset.deleted_forms)
        # What admin's history message reads; a form's save() would have set these.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for member_form in formset.forms:
            if not member_form.has_changed():
                continue
            membership = member_form.instance
            try:
                if member_form in deleted:
                    if membership.pk:
                        organizations.remove_member(membership)
                        formset.deleted_objects.append(membership)
                elif membership.pk is None:
                    user, role = member_form.cleaned_data["user"], member_form.cleaned_data["role"]
                    added = organizations.add_member(form.instance, user.email, role)
                    formset.new_objects.append(added)
                else:
                    organizations.change_role(membership, member_form.cleaned_data["role"])
                    formset.changed_objects.append((membership, ["role"]))
            except organizations.MembershipError as error:
                messages.error(request, f"{membership.user}: {error}")


# Third-party apps, read-only


@admin.register(Authenticator)
class AuthenticatorAdmin(ActOnlyAdmin):
    """Who has which second factor, never its secret. Reset two-factor is on the
    person's page."""

    list_display = ["user", "type", "created_at", "last_used_at"]
    list_filter = ["type"]
    search_fields = ["user__email", "user__name"]
    list_select_related = ["user"]
    fields = ["user", "type", "passkey_name", "created_at", "last_used_at"]
    readonly_fields = fields

    @admin.display(description="Passkey")
    def passkey_name(self, authenticator):
        return str(authenticator) if authenticator.type == Authenticator.Type.WEBAUTHN else "—"


@admin.register(EmailAddress)
class EmailAddressAdmin(ActOnlyAdmin):
    """A person's address is changed on their page (logged, and vouched for)."""

    list_display = ["email", "user", "primary", "verified"]
    list_filter = ["primary", "verified"]
    search_fields = ["email", "user__email"]
    list_select_related = ["user"]
    fields = ["email", "user", "primary", "verified"]
    readonly_fields = fields


@admin.register(Email)
class EmailAdmin(ActOnlyAdmin):
    """Notices waiting, sent or failed (never a secret: those are never queued)."""

    change_form_template = "admin/change_form.html"  # not post_office's, with its Resend

    list_display = ["to", "subject", "status", "last_updated", "scheduled_time"]
    list_filter = ["status"]
    search_fields = ["to", "subject"]
    fields = ["from_email", "to", "subject", "message", "status", "priority", "created"]
    fields += ["last_updated", "scheduled_time", "number_of_retries"]
    readonly_fields = fields


@admin.register(Log)
class EmailLogAdmin(ActOnlyAdmin):
    list_display = ["date", "email", "status", "exception_type"]
    list_filter = ["status"]
    list_select_related = ["email"]
    fields = ["date", "email", "status", "exception_type", "message"]
    readonly_fields = fields
