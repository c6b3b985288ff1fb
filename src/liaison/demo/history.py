"""The demo's past sent for real (`liaison demo-data`).

The versions signed before today go through the outbox and the worker's own senders
(`delivery.dmp.DmpSender`, `delivery.mssante.SmtpSender`, `worker.run_once`) to loopback sandboxes
that keep what they receive where `liaison demo` serves it: the DMP sandbox's store
(`<root>/dmp-sandbox`) and the mail sandbox's Maildir tree (`<root>/mail`). The delivery reports
(DSN) come back through the acknowledgement reader (`acks.read_maildir`); the mails the story says
were read are opened in the recipient's mailbox, whose software returns a read report (MDN).

So correcting an old letter (an RPLC of a document the DMP holds), the patient's « Mon espace
santé » view and the médecin traitant's mailbox work on the demo's past as on today's letters.
Every state comes from a peer's answer; only the times are then moved back to the day each version
was signed (the story being that the worker ran on those days), and the mails carry that date.
"""

from __future__ import annotations

import datetime as dt
import mailbox
import os
import random
import socket
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from liaison.delivery import acks, worker
from liaison.delivery.config import DmpConfig, SmtpConfig
from liaison.delivery.dmp import DmpSender
from liaison.delivery.models import Delivery, DeliveryEvent
from liaison.delivery.mssante import SmtpSender
from liaison.delivery.vihf import demo_authority
from liaison.demo.sandboxes import mail as mail_sandbox
from liaison.demo.sandboxes.dmp import Sandbox, StaticPatients, Store
from liaison.demo.sandboxes.dmp import start as start_dmp
from liaison.letters.models import PARIS, Letter, Patient


@dataclass(frozen=True, slots=True)
class Past:
    """One delivery of the demo's past and its story: when it left, and when it was read."""

    delivery: Delivery
    sent_at: dt.datetime
    read_after: dt.timedelta | None = None  # an MSSanté mail its recipient opened that long after
    acknowledged: bool = True  # without sandboxes: whether a delivery report came back


def story(rng: random.Random, signed: list[Letter], today: dt.date) -> tuple[list[Past], list[Delivery]]:
    """The story of the deliveries the signatures queued (`signing.sign`): each placed on its
    version's signature; for those signed before today, when the sending left and whether its
    recipient acknowledged or read it; today's stay due, so that `make run`'s worker sends them."""
    rows: dict[int, list[Delivery]] = {}
    for d in Delivery.objects.filter(letter__in=signed).order_by("pk"):
        rows.setdefault(d.letter_id, []).append(d)
    past, todays, queued = [], [], []
    for letter in signed:
        for d in rows.get(letter.pk, []):
            d.letter = letter
            d.created_at = d.next_attempt_at = letter.signed_at  # the mail's Date: the signature's day
            queued.append(d)
            if letter.signed_at.astimezone(PARIS).date() >= today:
                todays.append(d)
                continue
            sent_at = letter.signed_at + dt.timedelta(minutes=rng.randrange(1, 20))
            ack = rng.random()
            read = None
            if d.channel == Delivery.Channel.MSSANTE and ack < 0.35:
                read = dt.timedelta(minutes=2, hours=rng.randrange(1, 48))
            past.append(Past(d, sent_at, read, acknowledged=d.channel == Delivery.Channel.DMP or ack < 0.7))
    Delivery.objects.bulk_update(queued, ["created_at", "next_attempt_at"])
    events = list(DeliveryEvent.objects.filter(delivery__in=queued).select_related("delivery"))
    for e in events:
        e.at = e.delivery.next_attempt_at
    DeliveryEvent.objects.bulk_update(events, ["at"])
    return past, todays


def as_if_sent(past: list[Past]) -> None:
    """Without sandboxes (the tests' quick demo): the past's states as the peers would answer."""
    for p in past:
        d = p.delivery
        d.attempts, d.sent_at, d.state = 1, p.sent_at, Delivery.State.SENT
        if p.acknowledged:
            d.state, d.acknowledged_at = Delivery.State.DELIVERED, p.sent_at + dt.timedelta(minutes=2)
            if p.read_after is not None:
                d.state, d.acknowledged_at = Delivery.State.READ, p.sent_at + p.read_after
    Delivery.objects.bulk_update(
        [p.delivery for p in past], ["attempts", "sent_at", "state", "acknowledged_at"]
    )


# Today's deliveries wait this long while the past is sent (`hold`, then `release`).
_HELD = dt.timedelta(days=365)


def hold(todays: list[Delivery]) -> None:
    """Keep today's deliveries from the worker that sends the past (`send`)."""
    later = dt.datetime.now(PARIS) + _HELD
    Delivery.objects.filter(pk__in=[d.pk for d in todays]).update(next_attempt_at=later)


def release(todays: list[Delivery]) -> None:
    """Today's deliveries due again, from their signature, once the past is sent."""
    Delivery.objects.bulk_update(todays, ["next_attempt_at"])


def trust_store() -> Path:
    """What the DMP sandbox trusts: the seal the worker signs with (LIAISON_DMP_CERT), else the
    authority of the demo seal (as `liaison demo`)."""
    given = os.environ.get("LIAISON_DMP_CERT")
    return Path(given) if given else demo_authority()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _senders(dmp_url: str, smtp_port: int, sender: str | None) -> Iterator[None]:
    """The worker's senders pointed at the sandboxes, for the time of the block only."""
    before = {c: worker.sender_for(c) for c in Delivery.Channel.values}
    smtp = SmtpSender(SmtpConfig(host="127.0.0.1", port=smtp_port, security="plain", sender=sender))
    # signed with the worker's seal (the sandbox trusts it, see trust_store), else the demo pair
    seal = os.environ.get("LIAISON_DMP_CERT") or None, os.environ.get("LIAISON_DMP_KEY") or None
    worker.register(Delivery.Channel.DMP, DmpSender(DmpConfig(url=dmp_url, cert=seal[0], key=seal[1])))
    worker.register(Delivery.Channel.MSSANTE, smtp)
    try:
        yield
    finally:
        smtp.close()
        for channel, sender in before.items():
            if sender is None:
                worker._SENDERS.pop(channel, None)
            else:
                worker.register(channel, sender)


def _open_mail(handler: mail_sandbox.SandboxHandler, root: Path, d: Delivery) -> None:
    """The recipient opens the mail: flagged seen in their Maildir, and their software returns
    a read report (MDN) to the sender's mailbox, as a messaging client does."""
    box = mailbox.Maildir(mail_sandbox.mailbox_dir(root, d.recipient_address), factory=None, create=False)
    for key in list(box.iterkeys()):
        msg = box.get_message(key)
        if (msg.get("Message-ID") or "").strip() != d.message_id:
            continue
        raw = box.get_bytes(key)
        msg.set_subdir("cur")
        msg.add_flag("S")
        box[key] = msg
        sender = (msg.get("Return-Path") or "").strip("<> ")
        handler.deliver(sender, mail_sandbox.build_mdn(raw, d.recipient_address))
        return


def send(root: Path, past: list[Past]) -> Counter:
    """Send `past` (saved, pending deliveries) to sandboxes keeping their data under `root`;
    return the final states counted. The database must hold the letters committed."""
    root.mkdir(parents=True, exist_ok=True)
    sender = os.environ.get("LIAISON_MSS_FROM") or None  # the application mailbox, as `acks` reads it
    maildir = root / "mail"
    maildir.mkdir(exist_ok=True)
    known = Patient.objects.exclude(ins_matricule=None).values_list("ins_matricule", flat=True)
    sandbox = Sandbox(Store(root / "dmp-sandbox"), StaticPatients(known), [trust_store().read_bytes()])
    server, _ = start_dmp(sandbox)
    smtp_port = _free_port()
    mail = mail_sandbox.start(maildir, port=smtp_port)
    try:  # one transaction: the worker's and the reader's commits are savepoints (SQLite's
        # synchronous commits would take most of the time); the sandboxes read no database
        with transaction.atomic(), _senders(server.url, smtp_port, sender):
            worker.run_once(batch=50)
            for p in past:
                if p.read_after is not None:
                    _open_mail(mail.handler, maildir, p.delivery)
            for box in acks.maildir_boxes(maildir, acks.app_addresses(sender)):
                acks.read_maildir(box)
            _move_back(past)
    finally:
        mail.stop()
        server.shutdown()
        server.server_close()
    return Counter(
        Delivery.objects.filter(pk__in=[p.delivery.pk for p in past]).values_list("state", flat=True)
    )


def _move_back(past: list[Past]) -> None:
    """Place each sending on the day of its signature (states untouched)."""
    rows = {d.pk: d for d in Delivery.objects.filter(pk__in=[p.delivery.pk for p in past])}
    events = []
    for p in past:
        d = rows[p.delivery.pk]
        queued = p.delivery.next_attempt_at
        acked = p.sent_at + dt.timedelta(minutes=2)
        read = acked + p.read_after if p.read_after is not None else None
        d.claimed_at = d.sent_at = p.sent_at if d.sent_at else None
        if d.acknowledged_at:
            d.acknowledged_at = read if d.state == Delivery.State.READ and read else acked
        for e in d.events.all():
            e.at = {
                Delivery.State.PENDING: queued,
                Delivery.State.DELIVERED: acked,
                Delivery.State.READ: read or acked,
            }.get(e.state, p.sent_at)
            events.append(e)
    Delivery.objects.bulk_update(rows.values(), ["claimed_at", "sent_at", "acknowledged_at"])
    DeliveryEvent.objects.bulk_update(events, ["at"])
