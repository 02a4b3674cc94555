from django.urls import path

from . import views

app_name = "sso"

# Under /o/<org>/settings/sso/: the Owner's actions.
urlpatterns = [
    path("connection/", views.save_connection, name="save_connection"),
    path("disconnect/", views.disconnect, name="disconnect"),
    path("require/", views.require, name="require"),
    path("domains/", views.add_domain, name="add_domain"),
    path("domains/<int:domain_id>/verify/", views.verify_domain, name="verify_domain"),
    path("domains/<int:domain_id>/resend/", views.resend_code, name="resend_code"),
    path("domains/<int:domain_id>/remove/", views.remove_domain, name="remove_domain"),
]
