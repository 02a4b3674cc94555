"""Django admin for operators. Membership changes go through the services, so the
last-Owner rule holds and a removed member's keys are revoked, as in the console."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from accounts.services import vouch_for_email
from genesis.admin import NoDirectDeleteMixin

from . import invitations, services
from .models import AuditEvent, Invitation, Membership, Organization, User


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "name")


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    ordering = ["email"]
    list_display = ["email", "name", "is_active", "is_staff", "date_joined"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    search_fields = ["email", "name"]
    readonly_fields = ["last_login", "date_joined"]
    fieldsets = [
        (None, {"fields": ["email", "name", "password"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "name", "password1", "password2"]}),
    ]

    def save_model(self, request, obj, form, change):
        obj.email = obj.email.strip().lower()  # sign-in finds addresses in lowercase
        super().save_model(request, obj, form, change)
        # The operator vouches for the address they typed: it signs in with it.
        vouch_for_email(obj)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def save_formset(self, request, form, formset, change):
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
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
                        services.remove_member(membership)
                        formset.deleted_objects.append(membership)
                elif membership.pk is None:
                    user, role = member_form.cleaned_data["user"], member_form.cleaned_data["role"]
                    added = services.add_member(form.instance, user.email, role)
                    formset.new_objects.append(added)
                else:
                    services.change_role(membership, member_form.cleaned_data["role"])
                    formset.changed_objects.append((membership, ["role"]))
            except services.MembershipError as error:
                messages.error(request, f"{membership.user}: {error}")


@admin.register(Invitation)
class InvitationAdmin(NoDirectDeleteMixin, admin.ModelAdmin):
    """Operators see invitations and can revoke them; inviting is the Members page's (the
    link is only ever in the email)."""

    list_display = ["email", "organization", "role", "invited_by", "sent_at", "expires_at", "state"]
    list_filter = ["organization", "role"]
    search_fields = ["email"]
    list_select_related = ["organization", "invited_by"]
    exclude = ["token_hash"]
    actions = ["revoke"]

    @admin.display(description="State")
    def state(self, invitation):
        if invitation.accepted_at:
            return "accepted"
        if invitation.revoked_at:
            return "revoked"
        return "expired" if invitation.is_expired else "open"

    @admin.action(description="Revoke the selected invitations")
    def revoke(self, request, queryset):
        for invitation in queryset.filter(accepted_at=None, revoked_at=None):
            invitations.revoke(invitation)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(NoDirectDeleteMixin, admin.ModelAdmin):
    """Read-only: the log is written by the services and never edited."""

    list_display = ["created_at", "organization", "actor", "action", "target", "ip"]
    list_filter = ["action", "organization"]
    search_fields = ["target", "actor__email", "target_user__email"]
    list_select_related = ["organization", "actor"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
