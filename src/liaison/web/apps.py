"""The web shell: base templates, login, the stays list."""

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "liaison.web"
    label = "web"
    verbose_name = "Interface web"
