"""A QLS audit as the quality manager runs it: the frozen draw and the auditor's overrides.

The automatic grading is never stored: it is recomputed from the letters (pure and fast), so
the automatic and the reviewed results are always both visible.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from liaison.letters.models import Establishment, Stay


class QlsCampaign(models.Model):
    """A QLS campaign as declared for the establishment: its sector and its period of discharges.

    Declared by the establishment administrator (or a superuser), never by the quality role that
    draws its sample: the HAS draw is one fixed-size sample on this period, drawn once."""

    establishment = models.ForeignKey(Establishment, on_delete=models.PROTECT, related_name="qls_campaigns")
    label = models.CharField("intitulé", max_length=200, blank=True)
    sector = models.CharField("secteur", max_length=3, choices=[("MCO", "MCO"), ("CA", "CA")])
    period_from = models.DateField("sorties du")
    period_to = models.DateField("au")
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name="déclarée par",
    )
    declared_at = models.DateTimeField("déclarée le", auto_now_add=True)

    class Meta:
        verbose_name = "campagne QLS"
        verbose_name_plural = "campagnes QLS"
        constraints = [
            models.UniqueConstraint(
                fields=["establishment", "sector", "period_from", "period_to"], name="qls_campaign_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(period_to__gte=models.F("period_from")), name="qls_campaign_period"
            ),
        ]

    def __str__(self) -> str:
        return (
            self.label
            or f"Campagne QLS {self.sector} du {self.period_from:%d/%m/%Y} au {self.period_to:%d/%m/%Y}"
        )


class QlsAudit(models.Model):
    # The campaign whose HAS draw this is (one draw per campaign); None: an audit saved by the CLI
    # before campaigns were declared, which opens no letter to the quality role.
    campaign = models.OneToOneField(
        QlsCampaign,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="audit",
        verbose_name="campagne",
    )
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
