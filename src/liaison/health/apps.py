"""Django app of the health page, the heartbeats and the Prometheus metrics."""

from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "liaison.health"
    verbose_name = "État de Liaison"
    default_auto_field = "django.db.models.BigAutoField"
