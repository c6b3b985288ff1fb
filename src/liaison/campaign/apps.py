"""Campaign side (Assurance Maladie / ARS): HAS open data, targeting, profiles, action plans."""

from django.apps import AppConfig


class CampaignConfig(AppConfig):
    name = "liaison.campaign"
    label = "campaign"
    verbose_name = "Campagne CPAM / ARS"
    default_auto_field = "django.db.models.BigAutoField"
