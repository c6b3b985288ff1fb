"""One row per running background process (worker, MLLP listener, acknowledgement reader),
whose loop refreshes `beat_at` (`liaison.pulse.heartbeat`); `health` reads them back."""

from __future__ import annotations

from django.db import models


class Heartbeat(models.Model):
    class Process(models.TextChoices):
        WORKER = "worker", "Envoi des lettres (liaison worker)"
        LISTENER = "listener", "Écoute HL7 MLLP (liaison mllp)"
        ACKS = "acks", "Lecture des accusés MSSanté (liaison read-acks)"

    process = models.CharField(max_length=10, choices=Process.choices)
    instance = models.CharField(max_length=100)  # host:pid
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField(db_index=True)

    class Meta:
        # The table of when the model lived in `health` (moved by state only, no data copied).
        db_table = "health_heartbeat"
        verbose_name = "signe de vie"
        constraints = [models.UniqueConstraint(fields=["process", "instance"], name="heartbeat_unique")]

    def __str__(self) -> str:
        return f"{self.process} {self.instance} {self.beat_at:%Y-%m-%d %H:%M:%S}"
