"""A QLS audit as the quality manager runs it: the frozen draw and the auditor's overrides.

The automatic grading is never stored: it is recomputed from the letters (pure and fast), so
the automatic and the reviewed results are always both visible.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from liaison.letters.models import Establishment, Stay


class QlsAudit(models.Model):
    establishment = models.ForeignKey(Establishment, on_delete=models.PROTECT, related_name="qls_audits")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    label = models.CharField("intitulé", max_length=200, blank=True)
    grid_id = models.CharField("grille", max_length=100)
    grid_version = models.CharField(max_length=50)
    grid_sha256 = models.CharField(max_length=64)
    sector = models.CharField("secteur", max_length=3)
    period_from = models.DateField("du")
    period_to = models.DateField("au")
    draw = models.JSONField("tirage")  # liaison.quality.sampling.Draw.as_dict()

    class Meta:
        verbose_name = "audit QLS"
        verbose_name_plural = "audits QLS"

    def __str__(self) -> str:
        return (
            self.label
            or f"Audit QLS {self.sector} du {self.period_from:%d/%m/%Y} au {self.period_to:%d/%m/%Y}"
        )


class QlsOverride(models.Model):
    """The auditor confirms or corrects one criterion of one record, with a reason."""

    audit = models.ForeignKey(QlsAudit, on_delete=models.CASCADE, related_name="overrides")
    stay = models.ForeignKey(Stay, on_delete=models.PROTECT, related_name="+")
    criterion = models.CharField("critère", max_length=60)
    result = models.CharField("résultat", max_length=20)  # met | not_met | not_applicable
    reason = models.CharField("motif", max_length=500)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "correction d'auditeur"
        constraints = [
            models.UniqueConstraint(fields=["audit", "stay", "criterion"], name="qls_override_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.stay_id} {self.criterion} → {self.result}"
