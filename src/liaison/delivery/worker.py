"""The delivery worker: claims due deliveries and hands each to its channel's sender.

Channels register a sender with `register(channel, sender)`; a sender takes a `Delivery` and
returns a `SendResult`; `configure(config)` registers the DMP and MSSanté senders of a
`config.WorkerConfig` (read once by `liaison worker`). A channel without a sender (its peer not
configured) fails with a French reason and is retried, so nothing is dropped while the
configuration is fixed.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
from collections.abc import Callable

from django.db import close_old_connections

from liaison.delivery import outbox
from liaison.delivery.config import STALE_CLAIM, WorkerConfig
from liaison.delivery.models import Delivery
from liaison.pulse.counters import DELIVERY_ATTEMPTS, DELIVERY_SECONDS

Sender = Callable[[Delivery], outbox.SendResult]
_SENDERS: dict[str, Sender] = {}

log = logging.getLogger(__name__)

NOT_CONFIGURED = {
    Delivery.Channel.DMP: "Aucun point d'accès DMP n'est configuré (variable LIAISON_DMP_URL).",
    Delivery.Channel.MSSANTE: "Aucun serveur MSSanté n'est configuré (variable LIAISON_MSS_SMTP).",
}


def register(channel: str, sender: Sender) -> None:
    _SENDERS[channel] = sender


def configure(config: WorkerConfig) -> None:
    """Register the senders of the peers `config` names (LIAISON_DMP_URL, LIAISON_MSS_SMTP…)."""
    from liaison.delivery import dmp, mssante  # they import this module to register

    dmp.configure(config.dmp)
    mssante.configure(config.mss)


def sender_for(channel: str) -> Sender | None:
    return _SENDERS.get(channel)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def process(delivery: Delivery) -> Delivery:
    sender = sender_for(delivery.channel)
    if sender is None:
        settled = outbox.settle(delivery, outbox.SendResult(False, NOT_CONFIGURED[delivery.channel]))
        DELIVERY_ATTEMPTS.labels(delivery.channel, settled.state).inc()
        return settled
    started = time.perf_counter()
    try:
        result = sender(delivery)
    except Exception as exc:  # a sender bug must not kill the worker nor lose the delivery
        log.exception("delivery %s", delivery.pk)
        result = outbox.SendResult(False, f"Erreur interne pendant l'envoi : {exc}")
    DELIVERY_SECONDS.labels(delivery.channel).observe(time.perf_counter() - started)
    settled = outbox.settle(delivery, result)
    outcome = "sent" if result.ok else settled.state  # sent (or delivered at once), failed, given_up
    DELIVERY_ATTEMPTS.labels(delivery.channel, outcome).inc()
    return settled


def run_once(
    name: str | None = None,
    batch: int = 10,
    beat: Callable[[], None] | None = None,
    stale: dt.timedelta = STALE_CLAIM,
) -> int:
    """Process what is due now; return how many deliveries were handled. `beat` is called
    between sends (the heartbeat of `run_forever`: a slow peer must not look like a dead worker);
    `stale` is how long another worker's claim holds (`WorkerConfig.stale_claim`)."""
    name = name or worker_name()
    done = 0
    while picked := outbox.claim(name, batch, stale=stale):
        for d in picked:
            if beat is not None:
                beat()
            if not outbox.renew(d):  # held too long behind a slow peer: another worker has it
                log.warning("delivery %s: claim lost to another worker, not sent here", d.pk)
                continue
            process(d)
            done += 1
    return done


def run_forever(poll: float = 1.0, name: str | None = None, stale: dt.timedelta = STALE_CLAIM) -> None:
    from liaison.pulse.heartbeat import Beater

    name = name or worker_name()
    heart = Beater("worker", name)
    while True:
        close_old_connections()
        heart.beat()
        if run_once(name, beat=heart.beat, stale=stale) == 0:
            time.sleep(poll)
