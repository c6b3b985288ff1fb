"""Queue, claim and settle deliveries (the transactional outbox).

- `queue(letter, content)` runs inside the signature's transaction.
- `claim(worker, limit)` takes due deliveries with `SELECT … FOR UPDATE SKIP LOCKED` on
  PostgreSQL, so several workers never take the same row; SQLite (the demo) serialises writers.
- `settle(delivery, result)` records the outcome: sent, or failed with a French reason and the
  next attempt after an exponential back-off, or given up after `MAX_ATTEMPTS`.
- A delivery left in `sending` by a worker that died is due again after `stale_claim()`; the
  channel must then recognise what the peer already has (fixed Message-ID / uniqueId).
- `renew(delivery)` refreshes the claim just before each send, and says when it was lost: a
  worker slowed by its peer may hold a batch longer than the stale limit, and another worker
  then takes the rest of it; the first must not send those again.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from liaison.delivery.models import Delivery, DeliveryEvent
from liaison.delivery.routing import plan
from liaison.letters.content import LetterContent
from liaison.letters.models import Letter

MAX_ATTEMPTS = 8
BACKOFF_BASE = dt.timedelta(seconds=30)
BACKOFF_MAX = dt.timedelta(hours=2)
STALE_CLAIM = dt.timedelta(minutes=5)  # default; LIAISON_OUTBOX_STALE_SECONDS changes it


def stale_claim() -> dt.timedelta:
    """How long a claim holds before another worker may take the delivery. It must exceed the
    longest single send (the channels' network timeouts, 30 s by default)."""
    seconds = os.environ.get("LIAISON_OUTBOX_STALE_SECONDS")
    return dt.timedelta(seconds=float(seconds)) if seconds else STALE_CLAIM


@dataclass(frozen=True, slots=True)
class SendResult:
    ok: bool
    detail: str = ""  # French: the peer's answer, or what to fix
    retry: bool = True  # False for an error a retry cannot fix (e.g. unknown patient)
    acknowledgement: str = ""  # the peer's synchronous acknowledgement (DMP registry response)


def queue(letter: Letter, content: LetterContent) -> list[Delivery]:
    """Create the deliveries of a signed version (call inside the signature's transaction)."""
    now = timezone.now()
    rows = [
        Delivery(
            letter=letter,
            channel=p.channel.value,
            recipient_role=p.role,
            recipient_name=p.name[:200],
            recipient_address=p.address,
            recipient_rpps=p.rpps or "",
            next_attempt_at=now,
        )
        for p in plan(content)
    ]
    created = Delivery.objects.bulk_create(rows)
    DeliveryEvent.objects.bulk_create(
        [DeliveryEvent(delivery=d, state=d.state, detail="mis en file") for d in created]
    )
    return created


def backoff(attempts: int) -> dt.timedelta:
    exponent = min(max(attempts - 1, 0), 20)  # 2**20 × 30 s is far beyond the cap already
    return min(BACKOFF_BASE * 2**exponent, BACKOFF_MAX)


def claim(worker: str, limit: int = 10, channels: list[str] | None = None) -> list[Delivery]:
    """Take up to `limit` due deliveries for this worker."""
    now = timezone.now()
    due = Q(state__in=[Delivery.State.PENDING, Delivery.State.FAILED], next_attempt_at__lte=now) | Q(
        state=Delivery.State.SENDING, claimed_at__lt=now - stale_claim()
    )
    with transaction.atomic():
        qs = Delivery.objects.filter(due)
        if channels:
            qs = qs.filter(channel__in=channels)
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        picked = list(qs.order_by("next_attempt_at", "id")[:limit])
        for d in picked:
            d.state, d.claimed_by, d.claimed_at = Delivery.State.SENDING, worker, now
            d.attempts += 1
        Delivery.objects.bulk_update(picked, ["state", "claimed_by", "claimed_at", "attempts"])
    return picked


def renew(delivery: Delivery) -> bool:
    """Renew this worker's claim on `delivery` right before its send; False when the claim was
    lost (it went stale and another worker took the delivery): then it must not be sent."""
    now = timezone.now()
    kept = Delivery.objects.filter(
        pk=delivery.pk,
        state=Delivery.State.SENDING,
        claimed_by=delivery.claimed_by,
        claimed_at=delivery.claimed_at,
    ).update(claimed_at=now)
    if kept:
        delivery.claimed_at = now
    return bool(kept)


def settle(delivery: Delivery, result: SendResult) -> Delivery:
    now = timezone.now()
    if result.ok:
        delivery.state, delivery.sent_at, delivery.last_error = Delivery.State.SENT, now, ""
    elif not result.retry or delivery.attempts >= MAX_ATTEMPTS:
        delivery.state, delivery.last_error = Delivery.State.GIVEN_UP, result.detail
    else:
        delivery.state, delivery.last_error = Delivery.State.FAILED, result.detail
        delivery.next_attempt_at = now + backoff(delivery.attempts)
    with transaction.atomic():
        delivery.save(update_fields=["state", "sent_at", "last_error", "next_attempt_at"])
        DeliveryEvent.objects.create(delivery=delivery, state=delivery.state, detail=result.detail)
        if result.ok and result.acknowledgement:
            acknowledge(delivery, Delivery.State.DELIVERED, result.acknowledgement)
    return delivery


def acknowledge(delivery: Delivery, state: str, detail: str = "") -> Delivery:
    """Record a delivery (DSN, registry response) or read (MDN) acknowledgement."""
    order = [Delivery.State.SENT, Delivery.State.DELIVERED, Delivery.State.READ]
    if state in order and (delivery.state not in order or order.index(state) > order.index(delivery.state)):
        delivery.state = state
        delivery.acknowledged_at = timezone.now()
        delivery.save(update_fields=["state", "acknowledged_at"])
    DeliveryEvent.objects.create(delivery=delivery, state=state, detail=detail)
    return delivery
