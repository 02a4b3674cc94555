from django.apps import AppConfig


class UiConfig(AppConfig):
    """An app so that Django finds its template tags (`{% load console %}`)."""

    name = "ui"
