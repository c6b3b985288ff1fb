"""Django app of the background processes' heartbeats (the table `health_heartbeat`, kept from
when the model lived in `health`)."""

from django.apps import AppConfig


class PulseConfig(AppConfig):
    name = "liaison.pulse"
    label = "pulse"
    verbose_name = "Signes de vie"
    default_auto_field = "django.db.models.BigAutoField"
