"""Campaign data: establishments of the open data, imported results, campaigns, action plans.

Establishment-level aggregates only: no model here points to a patient, a stay or a letter.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

PRIORITY_CRITERIA = {
    "handed_over": "Lettre remise au patient le jour de la sortie",
    "care_planning": "Planification des soins à la sortie",
    "discharge_treatment": "Traitement médicamenteux de sortie",
}


class Establishment(models.Model):
    """A geographic establishment as the HAS open data names it, plus what the campaign user adds."""

    finess_eg = models.CharField("FINESS géographique", max_length=9, unique=True)
    finess_ej = models.CharField("FINESS juridique", max_length=9, blank=True, db_index=True)
    name = models.CharField("raison sociale", max_length=200)
    name_ej = models.CharField("entité juridique", max_length=200, blank=True)
    region = models.CharField("région", max_length=80, blank=True, db_index=True)
    department = models.CharField("département", max_length=3, blank=True, db_index=True)
    category = models.CharField("catégorie", max_length=120, blank=True)
    # Not in the open data: entered or imported (CSV) by the campaign user, with a declared source.
    dmp_rate = models.FloatField("taux d'alimentation du DMP en LLS (%)", null=True, blank=True)
    mss_rate = models.FloatField("taux d'envoi MSSanté aux professionnels (%)", null=True, blank=True)
    parcours = models.JSONField(
        "services de parcours", null=True, blank=True
    )  # list of codes; null = unknown
    cpts = models.BooleanField("lien avec une CPTS", null=True, blank=True)
    beds = models.PositiveIntegerField("lits et places", null=True, blank=True)
    # per-criterion QLS rates (%) of the three priority criteria, keyed as PRIORITY_CRITERIA; null = unknown
    priority_rates = models.JSONField("taux des critères prioritaires (%)", null=True, blank=True)
    attributes_source = models.CharField("source des attributs", max_length=200, blank=True)
    attributes_updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "établissement (open data)"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.finess_eg})"


class ImportBatch(models.Model):
    family = models.CharField(max_length=40)
    year = models.PositiveIntegerField()
    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    rows = models.PositiveIntegerField()
    results = models.PositiveIntegerField()
    duration_ms = models.PositiveIntegerField(default=0)
    warnings = models.JSONField(default=list)
    imported_at = models.DateTimeField(auto_now_add=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["-imported_at"]


class Indicator(models.Model):
    code = models.CharField(max_length=40, unique=True)
    family = models.CharField(max_length=40)
    label = models.CharField(max_length=200)
    short = models.CharField(max_length=80, blank=True)
    unit = models.CharField(max_length=10, blank=True)
    weight_label = models.CharField(max_length=40, blank=True)
    satisfactory_classes = models.JSONField(default=list)
    discharge_organisation = models.BooleanField(default=False)

    class Meta:
        ordering = ["family", "id"]

    def __str__(self) -> str:
        return self.short or self.label


class Result(models.Model):
    establishment = models.ForeignKey(Establishment, on_delete=models.CASCADE, related_name="results")
    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="results")
    year = models.PositiveIntegerField()
    value = models.FloatField(null=True)
    weight = models.PositiveIntegerField(null=True)
    klass = models.CharField("classe", max_length=4, blank=True)
    evolution = models.CharField(max_length=20, blank=True)
    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="result_rows")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["establishment", "indicator", "year"], name="campaign_result_once"
            )
        ]
        indexes = [models.Index(fields=["indicator", "year"])]


class Campaign(models.Model):
    name = models.CharField("nom", max_length=200)
    year = models.PositiveIntegerField("année de la mesure de référence")
    indicators = models.JSONField("indicateurs de ciblage", default=list)
    region = models.CharField("région", max_length=80, blank=True)
    config = models.JSONField("règle et pondérations", default=dict)
    national = models.JSONField("moyennes nationales pondérées à la création", default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class Target(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="targets")
    establishment = models.ForeignKey(Establishment, on_delete=models.PROTECT, related_name="targets")
    rank = models.PositiveIntegerField()
    score = models.FloatField()
    gap = models.FloatField()
    reasons = models.JSONField(default=list)
    selected = models.BooleanField("retenu pour une visite", default=True)

    class Meta:
        ordering = ["rank"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "establishment"], name="campaign_target_once")
        ]


class ActionPlan(models.Model):
    target = models.OneToOneField(Target, on_delete=models.CASCADE, related_name="plan")
    created_at = models.DateTimeField(auto_now_add=True)
    notes = models.TextField("remarques", blank=True)

    def progress(self) -> tuple[int, int]:
        items = list(self.items.exclude(status=ActionItem.Status.ABANDONNE))
        return sum(1 for i in items if i.status == ActionItem.Status.FAIT), len(items)


class ActionItem(models.Model):
    class Status(models.TextChoices):
        A_FAIRE = "a_faire", "À faire"
        EN_COURS = "en_cours", "En cours"
        FAIT = "fait", "Fait"
        ABANDONNE = "abandonne", "Abandonné"

    plan = models.ForeignKey(ActionPlan, on_delete=models.CASCADE, related_name="items")
    criterion = models.CharField("critère", max_length=30, choices=list(PRIORITY_CRITERIA.items()))
    action = models.TextField("action")
    owner = models.CharField("responsable", max_length=120, blank=True)
    deadline = models.DateField("échéance", null=True, blank=True)
    status = models.CharField("statut", max_length=12, choices=Status.choices, default=Status.A_FAIRE)

    class Meta:
        ordering = ["criterion", "id"]


class Meeting(models.Model):
    class Kind(models.TextChoices):
        VISITE = "visite", "Visite"
        SUIVI = "suivi", "Réunion de suivi"

    plan = models.ForeignKey(ActionPlan, on_delete=models.CASCADE, related_name="meetings")
    kind = models.CharField("type", max_length=10, choices=Kind.choices, default=Kind.VISITE)
    date = models.DateField("date")
    participants = models.CharField("participants", max_length=300, blank=True)
    notes = models.TextField("compte rendu", blank=True)

    class Meta:
        ordering = ["date", "id"]


class Attachment(models.Model):
    """A document of the plan (minutes, signed plan); stored in the database, 5 Mo at most."""

    plan = models.ForeignKey(ActionPlan, on_delete=models.CASCADE, related_name="attachments")
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100, blank=True)
    data = models.BinaryField()
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField(auto_now_add=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["-uploaded_at"]
