from django.urls import path
from django.views.generic import RedirectView

from . import views

urlpatterns = [
    path("login/", views.login, name="account_login"),
    path("profile/", views.profile, name="account_profile"),
    # allauth always routes email management; addresses are changed by an operator here.
    path("email/", RedirectView.as_view(pattern_name="account_profile"), name="account_email"),
]
