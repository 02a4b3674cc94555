from django.urls import path

from oauth import console as apps

from . import views

app_name = "apikeys"

urlpatterns = [
    path("", views.key_list, name="list"),
    path("mine/", views.my_keys_section, name="mine"),
    path("organization/", views.org_keys_section, name="organization"),
    path("create/", views.create_key, name="create"),
    path("<int:key_id>/delete/", views.delete_key, name="delete"),
    path("<int:key_id>/revoke/", views.revoke_key, name="revoke"),
    path("<int:key_id>/rename/", views.rename_key, name="rename"),
    path("<int:key_id>/roll/", views.roll_key, name="roll"),
    # Authorized apps (OAuth grants), beside the keys.
    path("apps/mine/", apps.my_apps_section, name="my_apps"),
    path("apps/organization/", apps.org_apps_section, name="org_apps"),
    path("apps/<int:grant_id>/revoke/", apps.revoke_app, name="revoke_app"),
]
