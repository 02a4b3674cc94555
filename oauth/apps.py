from django.apps import AppConfig


class OauthConfig(AppConfig):
    name = "oauth"
    label = "oauth"
    verbose_name = "OAuth"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import signals  # noqa: F401 (connects the receivers)
