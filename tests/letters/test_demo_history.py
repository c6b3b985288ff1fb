"""The demo's past is real (issue 19, part 4): what `liaison demo-data` says was delivered is in
the DMP sandbox's store and the mail sandbox's Maildir tree, so a visitor can correct an old
letter, open the patient's « Mon espace santé » view and read the médecin traitant's mailbox."""

from __future__ import annotations

import datetime as dt
import urllib.request
from collections import Counter
from urllib.parse import quote

import pytest
from django.utils import timezone

from liaison import signing
from liaison.delivery import dmp, worker
from liaison.delivery.config import DmpConfig
from liaison.delivery.models import Delivery
from liaison.demo.history import trust_store
from liaison.demo.hospital import generate
from liaison.demo.sandboxes.dmp import Sandbox, StaticPatients, Store, start
from liaison.demo.sandboxes.mail import list_mailbox
from liaison.letters import lifecycle
from liaison.letters.models import PARIS, Letter, Patient

pytestmark = pytest.mark.django_db


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read().decode()


def test_demo_history_is_in_the_sandboxes_and_can_be_corrected(tmp_path, monkeypatch):
    summary = generate(60, seed=3, sandboxes=tmp_path)
    today = timezone.localdate()
    past = Delivery.objects.filter(letter__signed_at__date__lt=today).select_related("letter")
    assert past.count() > 40
    # every state of the past comes from a peer's answer: nothing left pending, nothing failed
    states = Counter(d.state for d in past)
    assert set(states) <= {"delivered", "read"} and states["read"], states
    assert summary.history == states
    # ... and is placed on the day of the signature
    for d in past:
        assert d.letter.signed_at < d.sent_at < d.letter.signed_at + dt.timedelta(minutes=20)

    # The DMP sandbox holds every version sent to it; its patient view lists them.
    store = Store(tmp_path / "dmp-sandbox")
    held = {doc["uniqueId"]: doc for doc in store.documents()}
    dmp_sent = [d for d in past if d.channel == "dmp"]
    assert dmp_sent and all(d.letter.document_oid in held for d in dmp_sent)
    known = Patient.objects.exclude(ins_matricule=None).values_list("ins_matricule", flat=True)
    box = Sandbox(store, StaticPatients(known), [trust_store().read_bytes()])
    server, _ = start(box)
    try:
        latest = (
            Letter.objects.filter(
                status=Letter.Status.SIGNED,
                signed_at__date__lt=today,
                deliveries__channel="dmp",
                signed_by__user__isnull=False,
            )
            .order_by("-signed_at")
            .first()
        )
        assert latest is not None and latest.signed_at.astimezone(PARIS).date() >= today - dt.timedelta(
            days=7
        )
        ins = latest.stay.patient.ins_matricule
        page = _get(f"{server.url}patient/{ins}")
        assert quote(latest.document_oid, safe="") in page and "En vigueur" in page

        # The médecin traitant's mailbox holds the letter, dated the day it was sent.
        mail = Delivery.objects.filter(
            letter__signed_at__date__lt=today, channel="mssante", recipient_role="medecin_traitant"
        ).first()
        mails = {m.message_id: m for m in list_mailbox(tmp_path / "mail", mail.recipient_address)}
        assert mail.message_id in mails
        assert mails[mail.message_id].kind == "lettre"
        assert mails[mail.message_id].date == mail.letter.signed_at.replace(microsecond=0)

        # Correcting the latest letter of the past: the replacement is accepted by the DMP.
        physician = latest.signed_by.user
        draft = lifecycle.start_correction(latest.pk, physician, "Résultat de biologie ajouté")
        fixed = signing.sign(draft.pk, physician)
        monkeypatch.setenv("LIAISON_DMP_URL", server.url)
        monkeypatch.setattr(worker, "_SENDERS", {})
        dmp.configure(DmpConfig.from_env())
        replacement = Delivery.objects.get(letter=fixed, channel="dmp")
        worker.process(_claimed(replacement))
        replacement.refresh_from_db()
        assert replacement.state == "delivered", replacement.last_error
        held = {doc["uniqueId"]: doc for doc in store.documents(ins)}
        assert held[fixed.document_oid]["status"] == "Approved"
        assert held[latest.document_oid]["status"] == "Deprecated"
        assert "Remplacé" in _get(f"{server.url}patient/{ins}")
    finally:
        server.shutdown()
        server.server_close()


def _claimed(delivery: Delivery) -> Delivery:
    """The delivery as the worker holds it after its claim."""
    delivery.state, delivery.attempts = Delivery.State.SENDING, delivery.attempts + 1
    delivery.claimed_by, delivery.claimed_at = "test", timezone.now()
    delivery.save()
    return delivery
