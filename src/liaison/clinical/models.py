"""The facts of a stay's record that the letter is drafted from, each with its source message.

Rows are written only by the HL7 ingest (`liaison.ingest.apply_clinical`), one transaction per
message. Every row names the message it comes from (`source`, kept in `ingest.InboundMessage`)
and, denormalised for the letter's « source » line, the message type, its date and its author or
sending system.
"""

from __future__ import annotations

from django.db import models

from liaison.ingest.models import InboundMessage
from liaison.letters.models import Stay


class SourcedFact(models.Model):
    stay = models.ForeignKey(Stay, on_delete=models.CASCADE, related_name="+")
    source = models.ForeignKey(
        InboundMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source_kind = models.CharField("type de message", max_length=20)  # ORU^R01, RDE^O11, ADT^A08
    source_at = models.DateTimeField("date du message", null=True, blank=True)
    source_author = models.CharField("auteur ou système", max_length=200, blank=True)

    class Meta:
        abstract = True


class LabResult(SourcedFact):
    """One observation (OBX), or one pending order (OBR without result yet)."""

    class Status(models.TextChoices):
        FINAL = "final", "Définitif"
        PRELIMINARY = "preliminary", "Préliminaire"
        PENDING = "pending", "En attente"
        CANCELLED = "cancelled", "Annulé"

    order_number = models.CharField("numéro de demande", max_length=60)
    test_code = models.CharField("code de l'examen demandé", max_length=40, blank=True)
    test_label = models.CharField("examen demandé", max_length=200, blank=True)
    code = models.CharField("code", max_length=40, blank=True)
    code_system = models.CharField("système de codage", max_length=20, blank=True)  # LN or local
    label = models.CharField("libellé", max_length=200, blank=True)
    value = models.CharField("valeur", max_length=500, blank=True)
    unit = models.CharField("unité", max_length=40, blank=True)
    reference_range = models.CharField("valeurs de référence", max_length=60, blank=True)
    abnormal_flag = models.CharField("anomalie", max_length=4, blank=True)
    status = models.CharField("statut", max_length=12, choices=Status.choices)
    observed_at = models.DateTimeField("prélevé le", null=True, blank=True)

    class Meta:
        verbose_name = "résultat de biologie"
        verbose_name_plural = "résultats de biologie"
        indexes = [models.Index(fields=["stay", "order_number"], name="labresult_stay_order")]


class Prescription(SourcedFact):
    class Kind(models.TextChoices):
        ENTREE = "entree", "Traitement à l'entrée"
        SEJOUR = "sejour", "Prescription du séjour"
        SORTIE = "sortie", "Ordonnance de sortie"

    class State(models.TextChoices):
        ACTIVE = "active", "En cours"
        STOPPED = "stopped", "Arrêtée"

    kind = models.CharField("nature", max_length=10, choices=Kind.choices)
    order_number = models.CharField("numéro de prescription", max_length=60)
    state = models.CharField("état", max_length=10, choices=State.choices, default=State.ACTIVE)
    medicine = models.CharField("médicament", max_length=200)
    cis = models.CharField("code CIS", max_length=8, blank=True)
    cip13 = models.CharField("code CIP13", max_length=13, blank=True)
    ucd = models.CharField("code UCD", max_length=13, blank=True)
    atc = models.CharField("code ATC", max_length=7, blank=True)
    dosage = models.CharField("posologie", max_length=300, blank=True)
    route = models.CharField("voie", max_length=60, blank=True)
    duration = models.CharField("durée", max_length=60, blank=True)
    start_at = models.DateTimeField("début", null=True, blank=True)
    end_at = models.DateTimeField("fin", null=True, blank=True)

    class Meta:
        verbose_name = "prescription"
        verbose_name_plural = "prescriptions"
        constraints = [
            models.UniqueConstraint(fields=["stay", "kind", "order_number"], name="prescription_once")
        ]


class Diagnosis(SourcedFact):
    code = models.CharField("code CIM-10", max_length=10)
    label = models.CharField("libellé", max_length=200, blank=True)
    principal = models.BooleanField("diagnostic principal", default=False)

    class Meta:
        verbose_name = "diagnostic"
        verbose_name_plural = "diagnostics"
        indexes = [models.Index(fields=["stay"], name="diagnosis_stay")]


class Procedure(SourcedFact):
    code = models.CharField("code CCAM", max_length=7)
    label = models.CharField("libellé", max_length=200, blank=True)
    performed_at = models.DateTimeField("réalisé le", null=True, blank=True)

    class Meta:
        verbose_name = "acte"
        verbose_name_plural = "actes"
        indexes = [models.Index(fields=["stay"], name="procedure_stay")]


class Allergy(SourcedFact):
    code = models.CharField("code", max_length=40, blank=True)
    label = models.CharField("allergène", max_length=200)
    kind = models.CharField("type", max_length=40, blank=True)
    severity = models.CharField("sévérité", max_length=20, blank=True)
    reaction = models.CharField("réaction", max_length=200, blank=True)

    class Meta:
        verbose_name = "allergie"
        verbose_name_plural = "allergies"
        indexes = [models.Index(fields=["stay"], name="allergy_stay")]
