"""Letters app: reference data, patients, stays, letters and their lifecycle, audit trail."""

from django.apps import AppConfig


class LettersConfig(AppConfig):
    name = "liaison.letters"
    label = "letters"
    verbose_name = "Lettres de liaison"
    default_auto_field = "django.db.models.BigAutoField"
