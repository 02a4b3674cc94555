from django.urls import path

from . import views

app_name = "organizations"

urlpatterns = [
    path("members/", views.member_list, name="members"),
    path("members/invite/", views.invite, name="invite"),
    path(
        "invitations/<int:invitation_id>/resend/",
        views.resend_invitation,
        name="resend_invitation",
    ),
    path(
        "invitations/<int:invitation_id>/revoke/",
        views.revoke_invitation,
        name="revoke_invitation",
    ),
    path("members/<int:member_id>/role/", views.change_role, name="change_role"),
    path("members/<int:member_id>/remove/", views.remove_member, name="remove_member"),
    path("leave/", views.leave, name="leave"),
    path("settings/", views.settings_page, name="settings"),
    path("settings/two-factor/", views.two_factor_policy, name="two_factor_policy"),
    path("audit/", views.audit_log, name="audit"),
    path("audit/export.csv", views.audit_export, name="audit_export"),
]
