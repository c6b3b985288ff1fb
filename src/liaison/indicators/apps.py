"""Establishment indicators: the QLS audit kept in the database (and, later, the other indicators)."""

from django.apps import AppConfig


class IndicatorsConfig(AppConfig):
    name = "liaison.indicators"
    label = "indicators"
    verbose_name = "Indicateurs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The quality role reads its establishment's QLS campaign draws: letters' permissions ask
        # indicators through this registration, never by importing it (a floor above).
        from liaison.indicators import qls
        from liaison.letters import permissions

        permissions.register_audit_sample("qls_campaign", qls.campaign_sample_stay_ids)
