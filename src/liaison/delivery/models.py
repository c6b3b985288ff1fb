"""The outbox: one row per (letter version, channel, recipient), created with the signature.

Identifiers are fixed at creation (the Message-ID of a mail, the submission set of a DMP
filing; the document uniqueId is the letter's), so a retry after a crash cannot send twice
something the peer already has.
"""

from __future__ import annotations

import uuid

from django.db import models

from liaison.letters.models import Letter


def new_message_id() -> str:
    return f"<{uuid.uuid4()}@liaison.local>"


def new_submission_oid() -> str:
    return f"2.25.{uuid.uuid4().int}"


class Delivery(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "En attente"
        SENDING = "sending", "En cours d'envoi"
        SENT = "sent", "Envoyé"
        DELIVERED = "delivered", "Reçu"
        READ = "read", "Lu"
        FAILED = "failed", "Échec, nouvel essai prévu"
        GIVEN_UP = "given_up", "Abandonné"

    class Channel(models.TextChoices):
        DMP = "dmp", "DMP"
        MSSANTE = "mssante", "MSSanté"

    letter = models.ForeignKey(Letter, on_delete=models.PROTECT, related_name="deliveries")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    recipient_role = models.CharField(max_length=20)
    recipient_name = models.CharField(max_length=200, blank=True)
    recipient_address = models.CharField(max_length=254)  # MSSanté address, or the INS for the DMP
    recipient_rpps = models.CharField(max_length=11, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING, db_index=True)
    message_id = models.CharField(max_length=120, unique=True, default=new_message_id)
    submission_oid = models.CharField(max_length=64, unique=True, default=new_submission_oid)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    claimed_by = models.CharField(max_length=100, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)  # French, says what to fix
    failing_since = models.DateTimeField(null=True, blank=True)  # first failure of the retry window
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "envoi"
        constraints = [
            models.UniqueConstraint(
                fields=["letter", "channel", "recipient_address"], name="delivery_unique_per_recipient"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_channel_display()} → {self.recipient_name or self.recipient_address} ({self.state})"
        )


class DeliveryEvent(models.Model):
    """The history of a delivery: every attempt, answer and acknowledgement."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(max_length=10)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.state}"
