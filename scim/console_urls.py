from django.urls import path

from . import console

app_name = "scim_tokens"

urlpatterns = [
    path("", console.create_token, name="create"),
    path("<int:token_id>/revoke/", console.revoke_token, name="revoke"),
]
