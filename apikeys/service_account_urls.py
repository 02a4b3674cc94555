from django.urls import include, path

from . import service_account_views as views
from .urls import key_dialogs

app_name = "service_accounts"

urlpatterns = [
    path("create/", views.create_account, name="create"),
    path("<int:account_id>/", views.detail, name="detail"),
    path("<int:account_id>/keys/", views.keys_section, name="keys"),
    path("<int:account_id>/keys/create/", views.create_key, name="create_key"),
    path(
        "<int:account_id>/keys/",
        include(key_dialogs("key_", roll=views.roll_key, revoke=views.revoke_key)),
    ),
    path("<int:account_id>/role/", views.change_role, name="role"),
    path("<int:account_id>/disable/", views.disable, name="disable"),
    path("<int:account_id>/enable/", views.enable, name="enable"),
    path("<int:account_id>/delete/", views.delete, name="delete"),
]
