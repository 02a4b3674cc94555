from django.urls import path

from . import usage_views as views
from .urls import key_dialogs

app_name = "usage"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("stale/", views.stale_section, name="stale"),
    *key_dialogs(revoke=views.revoke_key),
]
