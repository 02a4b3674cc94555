from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class OperatorsConfig(AppConfig):
    default = True
    name = "operators"
    verbose_name = "Operators"


class OperatorAdminConfig(admin_apps.AdminConfig):
    """Django's admin app with our site as `admin.site` (Django's documented way to
    replace the default site), so every registration lands on it."""

    default = False  # named in INSTALLED_APPS in place of django.contrib.admin
    default_site = "operators.site.OperatorAdminSite"
