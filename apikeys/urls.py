from django.urls import path

from . import authorized_apps as apps
from . import usage_views, views

app_name = "apikeys"


def key_dialogs(name_prefix="", **views_by_action):
    """A key's dialogs, each at <key id>/<action>/ and named `name_prefix` + action: the
    API keys page's (below) and a service account page's (service_account_urls), so that
    a row's buttons reverse either list's by the action (apikeys.views.KeyUrls)."""
    return [
        path(f"<int:key_id>/{action}/", view, name=name_prefix + action)
        for action, view in views_by_action.items()
    ]


urlpatterns = [
    path("", views.key_list, name="list"),
    path("mine/", views.my_keys_section, name="mine"),
    path("organization/", views.org_keys_section, name="organization"),
    path("create/", views.create_key, name="create"),
    *key_dialogs(
        delete=views.delete_key,
        revoke=views.revoke_key,
        rename=views.rename_key,
        roll=views.roll_key,
    ),
    path("<int:key_id>/usage/", usage_views.key_usage, name="usage"),
    # Authorized apps (OAuth grants), beside the keys.
    path("apps/mine/", apps.my_apps_section, name="my_apps"),
    path("apps/organization/", apps.org_apps_section, name="org_apps"),
    path("apps/<int:grant_id>/revoke/", apps.revoke_app, name="revoke_app"),
]
