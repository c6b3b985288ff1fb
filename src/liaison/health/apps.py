"""Django app of the health page and the Prometheus metrics (the heartbeats are `liaison.pulse`'s)."""

from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "liaison.health"
    verbose_name = "État de Liaison"
    default_auto_field = "django.db.models.BigAutoField"
