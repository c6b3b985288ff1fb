"""Establishment indicators: the QLS audit kept in the database (and, later, the other indicators)."""

from django.apps import AppConfig


class IndicatorsConfig(AppConfig):
    name = "liaison.indicators"
    label = "indicators"
    verbose_name = "Indicateurs"
    default_auto_field = "django.db.models.BigAutoField"
