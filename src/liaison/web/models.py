"""Models of the web app: the HAS discharge check-list, saved with the stay."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from liaison.letters.models import Stay


class DischargeChecklist(models.Model):
    """The nurse's HAS discharge check-list for one stay (answers per item number)."""

    stay = models.OneToOneField(Stay, on_delete=models.CASCADE, related_name="discharge_checklist")
    checklist_id = models.CharField("version de la check-list", max_length=40, default="has-2015")
    answers = models.JSONField("réponses", default=dict)  # {"1": "oui" | "non" | "na", …}
    comment = models.TextField("commentaire", blank=True)
    revision = models.PositiveIntegerField("révision", default=1)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "check-list de sortie"
        verbose_name_plural = "check-lists de sortie"

    def __str__(self) -> str:
        return f"Check-list de sortie · {self.stay}"
