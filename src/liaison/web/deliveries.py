"""What the screens show of a signed letter's deliveries (DMP, MSSanté).

The deliveries are queued by `liaison.letters.lifecycle.sign` in the signature's transaction
(`liaison.delivery.outbox`); the worker sends them and records the acknowledgements. Here we
only read them: one summary state for the worklist, and the rows for the letter page.
"""

from __future__ import annotations

from dataclasses import dataclass

from liaison.delivery.models import Delivery
from liaison.letters.models import Letter

S = Delivery.State
_ACKNOWLEDGED = {S.DELIVERED, S.READ}
_SENT = {S.SENT} | _ACKNOWLEDGED


@dataclass(frozen=True)
class DeliverySummary:
    state: str  # "queued", "sent", "acknowledged" or "failed"
    label_fr: str
    rows: tuple[Delivery, ...]


def summary(letter: Letter, rows: list[Delivery] | None = None) -> DeliverySummary | None:
    """None when nothing was queued (no MSSanté recipient and no qualified INS for the DMP)."""
    rows = list(rows if rows is not None else letter.deliveries.all())
    if not rows:
        return None
    states = {d.state for d in rows}
    if states <= _ACKNOWLEDGED:
        return DeliverySummary("acknowledged", "Reçue par tous les destinataires", tuple(rows))
    if states <= _SENT:
        return DeliverySummary("sent", "Envoyée", tuple(rows))
    if S.GIVEN_UP in states:
        return DeliverySummary("failed", "Envoi abandonné : à reprendre", tuple(rows))
    return DeliverySummary("queued", "Envoi en cours", tuple(rows))
