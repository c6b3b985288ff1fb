"""`InboundMessage`: every HL7 message received, accepted or not, with its processing outcome.

An accepted message is unique on (sending facility, control id): a message sent twice is
applied once (the second copy is kept with the outcome "duplicate" and acknowledged again).
A refused message may be sent again with the same control id once its cause is fixed.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class InboundMessage(models.Model):
    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", "Accepté"
        DUPLICATE = "duplicate", "Doublon (déjà appliqué)"
        REFUSED = "refused", "Refusé"

    class Source(models.TextChoices):
        MLLP = "mllp", "MLLP"
        FILE = "fichier", "Fichier"

    received_at = models.DateTimeField("reçu le", db_index=True)
    source = models.CharField("canal", max_length=10, choices=Source.choices, default=Source.MLLP)
    peer = models.CharField("émetteur (adresse)", max_length=100, blank=True)
    raw = models.TextField("message brut")
    sending_application = models.CharField("application émettrice", max_length=180, blank=True)
    sending_facility = models.CharField("établissement émetteur", max_length=180, blank=True)
    control_id = models.CharField("identifiant du message (MSH-10)", max_length=199, blank=True)
    message_type = models.CharField("type", max_length=10, blank=True)
    event = models.CharField("événement", max_length=10, blank=True)
    patient_ipp = models.CharField("IPP", max_length=30, blank=True, db_index=True)
    visit_number = models.CharField("numéro de séjour", max_length=30, blank=True)
    outcome = models.CharField("résultat", max_length=10, choices=Outcome.choices)
    ack_code = models.CharField("code d'acquittement", max_length=2)
    reason = models.TextField("motif", blank=True)
    applied_at = models.DateTimeField("appliqué le", null=True, blank=True)

    class Meta:
        verbose_name = "message ADT reçu"
        verbose_name_plural = "messages ADT reçus"
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["sending_facility", "control_id"],
                condition=Q(outcome="accepted"),
                name="inbound_accepted_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.message_type}^{self.event} {self.control_id} ({self.get_outcome_display()})"
