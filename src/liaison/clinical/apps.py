"""Clinical app: what the hospital's laboratory, pharmacy and coding systems say about a stay."""

from django.apps import AppConfig


class ClinicalConfig(AppConfig):
    name = "liaison.clinical"
    label = "clinical"
    verbose_name = "Dossier clinique du séjour"
    default_auto_field = "django.db.models.BigAutoField"
