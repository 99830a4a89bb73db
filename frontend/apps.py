from django.apps import AppConfig


class FrontendConfig(AppConfig):
    """The browser app (its issue replaces this page)."""

    name = "frontend"
