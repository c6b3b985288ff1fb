"""Demo app: holds the demo's commands (no models)."""

from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "liaison.demo"
    label = "demo"
    verbose_name = "Démonstration"
