"""Ingest app: HL7 v2 ADT messages from the GAM (MLLP or batch file) → patients, stays, letters."""

from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "liaison.ingest"
    label = "ingest"
    verbose_name = "Messages ADT entrants"
    default_auto_field = "django.db.models.BigAutoField"
