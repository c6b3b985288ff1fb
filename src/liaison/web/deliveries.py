"""What the screens show of a signed letter's deliveries (DMP, MSSanté, courrier).

The deliveries are queued by `liaison.signing.sign` in the signature's transaction
(`liaison.delivery.outbox`); the worker sends them and records the acknowledgements. Here we
only read them: one summary state for the worklist, and the rows for the letter page. The
count is over every recipient of the signed letter (its delivery plan), so a recipient left to
the post is never counted as « reçue »: « Reçue par 2 destinataires sur 3 ».
"""

from __future__ import annotations

from dataclasses import dataclass

from liaison.delivery.models import Delivery
from liaison.delivery.routing import PlanLine, delivery_plan
from liaison.letters.models import Letter

S = Delivery.State
_ACKNOWLEDGED = {S.DELIVERED, S.READ}
_SENT = {S.SENT} | _ACKNOWLEDGED


@dataclass(frozen=True)
class DeliverySummary:
    state: str  # "queued", "sent", "acknowledged" or "failed"
    label_fr: str
    rows: tuple[Delivery, ...]
    received: int = 0
    total: int = 0
    not_received: tuple[str, ...] = ()  # French: who has not received it, and why
    by_post: tuple[PlanLine, ...] = ()  # recipients to whom the letter is printed and posted


def _label(received: int, total: int) -> str:
    if received == total:
        return "Reçue par le destinataire" if total == 1 else f"Reçue par les {total} destinataires"
    return f"Reçue par {received} destinataire{'s' if received > 1 else ''} sur {total}"


def summary(letter: Letter, rows: list[Delivery] | None = None) -> DeliverySummary | None:
    """None when the letter has no recipient beyond the patient's hand-over."""
    rows = list(rows if rows is not None else letter.deliveries.all())
    by_post = tuple(
        ln for ln in delivery_plan(letter.parsed()).lines if ln.channel == "courrier" and not ln.blocker
    )
    if not rows and not by_post:
        return None
    received = sum(1 for d in rows if d.state in _ACKNOWLEDGED)
    total = len(rows) + len(by_post)
    pending = [
        f"{d.recipient_name or d.recipient_address} ({d.get_channel_display()} : {d.get_state_display()})"
        for d in rows
        if d.state not in _ACKNOWLEDGED
    ]
    pending += [f"{ln.who} (courrier à imprimer : pas d'accusé de réception)" for ln in by_post]
    states = {d.state for d in rows}
    if S.GIVEN_UP in states:
        state = "failed"
        label = f"{_label(received, total)} · envoi abandonné : à reprendre"
    elif not by_post and states <= _ACKNOWLEDGED:
        state, label = "acknowledged", _label(received, total)
    elif states <= _SENT:
        state, label = "sent", f"Envoyée · {_label(received, total)}"
    else:
        state, label = "queued", f"Envoi en cours · {_label(received, total)}"
    return DeliverySummary(state, label, tuple(rows), received, total, tuple(pending), by_post)
