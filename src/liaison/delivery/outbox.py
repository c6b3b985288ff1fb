"""Queue, claim and settle deliveries (the transactional outbox).

- `queue(letter, content)` runs inside the signature's transaction.
- `claim(worker, limit)` takes due deliveries with `SELECT … FOR UPDATE SKIP LOCKED` on
  PostgreSQL, so several workers never take the same row; SQLite (the demo) serialises writers.
- `settle(delivery, result)` records the outcome: sent, or failed with a French reason and the
  next attempt after an exponential back-off capped at `BACKOFF_MAX` (1 h), or given up once it
  has been failing for `RETRY_WINDOW` (72 h: a peer's outage over a long weekend is waited out),
  or at once when the peer's answer says a retry cannot help.
  An acknowledgement the reader wrote first (a quick DSN, MDN or bounce) is kept.
- `requeue(delivery, user)` is the administrator's « renvoyer »: a given-up or failing delivery
  due again now, with a fresh retry window.
- A delivery left in `sending` by a worker that died is due again after the stale limit
  (`WorkerConfig.stale_claim`, LIAISON_OUTBOX_STALE_SECONDS, 5 min by default); the
  channel must then recognise what the peer already has (fixed Message-ID / uniqueId).
- Every time compared across processes is the database's (`liaison.dbclock`): workers on hosts
  whose clocks disagree still agree on which claim is stale and which delivery is due.
- `renew(delivery)` refreshes the claim just before each send, and says when it was lost: a
  worker slowed by its peer may hold a batch longer than the stale limit, and another worker
  then takes the rest of it; the first must not send those again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from liaison import dbclock
from liaison.core.content import LetterContent
from liaison.delivery.config import STALE_CLAIM
from liaison.delivery.models import Delivery, DeliveryEvent
from liaison.delivery.routing import plan
from liaison.letters.models import Letter

BACKOFF_BASE = dt.timedelta(seconds=30)
BACKOFF_MAX = dt.timedelta(hours=1)
RETRY_WINDOW = dt.timedelta(hours=72)  # failing this long: given up (and shown to the administrator)
LONG_FAILING = dt.timedelta(hours=1)  # failing this long: shown on « Envois en échec » already


@dataclass(frozen=True, slots=True)
class SendResult:
    ok: bool
    detail: str = ""  # French: the peer's answer, or what to fix
    retry: bool = True  # False for an error a retry cannot fix (e.g. unknown patient)
    acknowledgement: str = ""  # the peer's synchronous acknowledgement (DMP registry response)


def queue(letter: Letter, content: LetterContent) -> list[Delivery]:
    """Create the deliveries of a signed version (call inside the signature's transaction)."""
    now = dbclock.now()
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
    """The wait after the `attempts`-th failed attempt: 30 s, 1 min, 2 min… then 1 h each."""
    exponent = min(max(attempts - 1, 0), 20)  # 2**20 × 30 s is far beyond the cap already
    return min(BACKOFF_BASE * 2**exponent, BACKOFF_MAX)


def gives_up(failing_since: dt.datetime, now: dt.datetime) -> bool:
    """A failure at `now` ends the retries once the delivery has been failing for the window."""
    return now - failing_since >= RETRY_WINDOW


def retry_schedule() -> list[dt.timedelta]:
    """The waits between attempts of a delivery whose peer never answers, until it is given up."""
    waits: list[dt.timedelta] = []
    elapsed = dt.timedelta(0)
    while True:
        attempts = len(waits) + 1
        if elapsed >= RETRY_WINDOW:  # this attempt failed past the window: given up
            return waits
        waits.append(backoff(attempts))
        elapsed += waits[-1]


def claim(
    worker: str, limit: int = 10, channels: list[str] | None = None, stale: dt.timedelta = STALE_CLAIM
) -> list[Delivery]:
    """Take up to `limit` due deliveries for this worker, and those claimed longer than `stale`
    ago by a worker that died. `stale` must exceed the longest single send (the channels' network
    timeouts, 30 s by default). Times are the database's: workers on other hosts judge a claim
    stale by the same clock that wrote it."""
    now = dbclock.now()
    due = Q(state__in=[Delivery.State.PENDING, Delivery.State.FAILED], next_attempt_at__lte=now) | Q(
        state=Delivery.State.SENDING, claimed_at__lt=now - stale
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
    now = dbclock.now()
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
    """Record the outcome of a send, in one transaction. An acknowledgement read meanwhile by
    `liaison read-acks` (a DSN or a bounce can come back before the worker writes its result) is
    kept: the delivery does not go back to « sent », nor is it retried."""
    with transaction.atomic():
        current = Delivery.objects.select_for_update().values_list("state", flat=True).get(pk=delivery.pk)
        now = dbclock.now()
        if current in (Delivery.State.DELIVERED, Delivery.State.READ, Delivery.State.GIVEN_UP):
            delivery.state = current
            if result.ok:
                delivery.sent_at, delivery.last_error, delivery.failing_since = now, "", None
                delivery.save(update_fields=["sent_at", "last_error", "failing_since"])
            DeliveryEvent.objects.create(delivery=delivery, state=current, detail=result.detail)
            return delivery
        if result.ok:
            delivery.state, delivery.sent_at, delivery.last_error = Delivery.State.SENT, now, ""
            delivery.failing_since = None
        else:
            delivery.failing_since = delivery.failing_since or now
            delivery.last_error = result.detail
            if not result.retry or gives_up(delivery.failing_since, now):
                delivery.state = Delivery.State.GIVEN_UP
            else:
                delivery.state = Delivery.State.FAILED
                delivery.next_attempt_at = now + backoff(delivery.attempts)
        delivery.save(update_fields=["state", "sent_at", "last_error", "next_attempt_at", "failing_since"])
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


def requeue(delivery_id: int, by: str) -> Delivery | None:
    """« Renvoyer »: a given-up or failing delivery due again now, with a fresh retry window.
    None when it is neither any more (a worker took or sent it meanwhile)."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update()
            .filter(pk=delivery_id, state__in=[Delivery.State.GIVEN_UP, Delivery.State.FAILED])
            .first()
        )
        if delivery is None:
            return None
        before = delivery.attempts
        delivery.state, delivery.next_attempt_at = Delivery.State.PENDING, dbclock.now()
        delivery.attempts, delivery.failing_since, delivery.claimed_by = 0, None, ""
        delivery.save(update_fields=["state", "next_attempt_at", "attempts", "failing_since", "claimed_by"])
        DeliveryEvent.objects.create(
            delivery=delivery,
            state=delivery.state,
            detail=f"renvoyé par {by} après {before} essai{'s' if before > 1 else ''}",
        )
    return delivery
