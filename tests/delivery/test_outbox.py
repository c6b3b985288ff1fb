"""The outbox: deliveries queued with the signature, claimed once, retried, never dropped."""

from __future__ import annotations

import datetime as dt
import itertools
import threading

import pytest
from django.db import connection
from django.utils import timezone

from liaison import signing
from liaison.core.content import (
    Channel,
    Confidentiality,
    IdentityStatus,
    LetterContent,
    Recipient,
    RecipientRole,
)
from liaison.delivery import outbox, worker
from liaison.delivery.models import Delivery
from liaison.delivery.routing import DeliveryChannel, RoutingError, delivery_plan, plan
from liaison.letters import lifecycle
from tests.conftest import complete_content_updates

pytestmark = pytest.mark.django_db


def _signed(hospital, updates: dict | None = None):
    letter = lifecycle.open_letter(hospital["stay"])
    content = letter.parsed().model_copy(update={**complete_content_updates(), **(updates or {})})
    lifecycle.save_draft(letter.pk, content, letter.revision, hospital["users"]["medecin"])
    return signing.sign(letter.pk, hospital["users"]["medecin"])


def test_signature_queues_dmp_and_each_mssante_recipient(hospital):
    letter = _signed(hospital)
    got = {(d.channel, d.recipient_role, d.recipient_address) for d in letter.deliveries.all()}
    ins = hospital["patient"].ins_matricule
    assert got == {
        ("dmp", "dmp", ins),
        ("mssante", "medecin_traitant", "anne.generaliste@medecin.mssante.fr"),
        ("mssante", "patient", f"{ins}@patient.mssante.fr"),
    }
    assert all(d.state == Delivery.State.PENDING and d.message_id for d in letter.deliveries.all())


def _content(status=IdentityStatus.QUALIFIEE, **conf) -> LetterContent:
    c = LetterContent(confidentiality=Confidentiality(**conf))
    c.patient.ins_matricule = "285044523401788"
    c.patient.identity_status = status
    c.recipients = [
        Recipient(role=RecipientRole.MEDECIN_TRAITANT, name="Dr A", mssante="a@medecin.mssante.fr"),
        Recipient(role=RecipientRole.PATIENT, name="Patient"),
    ]
    return c


@pytest.mark.parametrize(
    "conf,expect",
    [
        ({}, {"dmp", "medecin_traitant", "patient"}),
        ({"masked_from_professionals": True}, RoutingError),
        ({"invisible_to_patient": True}, RoutingError),
        ({"invisible_to_legal_representatives": True}, RoutingError),  # only for one side alone
    ],
)
def test_masking_matrix(conf, expect):
    c = _content(**conf)
    if expect is RoutingError:
        with pytest.raises(RoutingError):
            plan(c)
    else:
        assert {p.role for p in plan(c)} == expect


def test_masked_letter_goes_to_the_patient_only_and_not_to_the_dmp():
    c = _content(masked_from_professionals=True)
    c.recipients = [r for r in c.recipients if r.role == RecipientRole.PATIENT]
    assert [(p.channel, p.role) for p in plan(c)] == [(DeliveryChannel.MSSANTE, "patient")]


def test_invisible_to_patient_goes_to_professionals_and_the_dmp():
    c = _content(invisible_to_patient=True)
    c.recipients = [r for r in c.recipients if r.role != RecipientRole.PATIENT]
    assert {p.role for p in plan(c)} == {"dmp", "medecin_traitant"}


def test_no_dmp_and_no_patient_mail_without_a_qualified_ins():
    c = _content(status=IdentityStatus.VALIDEE)
    # the patient's mailbox needs a qualified INS: a blocker, never a silent skip
    with pytest.raises(RoutingError, match="INS qualifiée"):
        plan(c)
    c.recipients[1].channel = Channel.REMISE_EN_MAIN_PROPRE  # the explicit other channel
    assert {p.role for p in plan(c)} == {"medecin_traitant"}
    lines = delivery_plan(c).lines
    assert lines[0].role == "dmp" and not lines[0].electronic and "INS qualifiée" in lines[0].note


def test_recipient_without_or_with_a_bad_address_blocks_and_is_named():
    c = _content()
    c.recipients.append(Recipient(role=RecipientRole.ADRESSEUR, name="Dr Sans Adresse"))
    c.recipients.append(Recipient(role=RecipientRole.AUTRE, name="Dr Typo", mssante="dr.dupont@gmail"))
    blockers = delivery_plan(c).blockers
    assert blockers == [
        ("recipients.2.mssante", blockers[0][1]),
        ("recipients.3.mssante", blockers[1][1]),
    ]
    assert "Dr Sans Adresse" in blockers[0][1] and "aucune adresse MSSanté" in blockers[0][1]
    assert "Dr Typo" in blockers[1][1] and "dr.dupont@gmail" in blockers[1][1]
    with pytest.raises(RoutingError, match="Dr Sans Adresse"):
        plan(c)
    c.recipients[2].channel = Channel.COURRIER  # printed and posted instead: no longer a blocker
    c.recipients[3].mssante = "dr.dupont@medecin.mssante.fr"
    p = delivery_plan(c)
    assert not p.blockers and [ln.channel_label for ln in p.lines] == [
        "DMP",
        "MSSanté",
        "MSSanté",
        "Courrier à imprimer",
        "MSSanté",
    ]
    assert {d.address for d in p.deliveries} >= {"dr.dupont@medecin.mssante.fr"}


def test_forbidden_routing_blocks_the_signature(hospital):
    with pytest.raises(lifecycle.LifecycleError, match="masqué aux professionnels"):
        _signed(hospital, {"confidentiality": Confidentiality(masked_from_professionals=True)})
    assert not Delivery.objects.exists()


def test_unconfigured_channel_fails_with_reason_and_is_retried(hospital, monkeypatch):
    monkeypatch.setattr(worker, "_SENDERS", {})
    _signed(hospital)
    assert worker.run_once("w1") == 3
    d = Delivery.objects.get(channel="dmp")
    assert d.state == Delivery.State.FAILED and "LIAISON_DMP_URL" in d.last_error
    assert d.next_attempt_at > timezone.now()
    assert worker.run_once("w1") == 0  # not due before its back-off


def test_success_retry_and_give_up(hospital, monkeypatch):
    calls: list[int] = []

    def flaky(delivery):
        calls.append(delivery.pk)
        if delivery.channel == "dmp":
            return outbox.SendResult(False, "Patient inconnu du DMP.", retry=False)
        return outbox.SendResult(len(calls) > 2, "serveur indisponible")

    monkeypatch.setattr(worker, "_SENDERS", {"dmp": flaky, "mssante": flaky})
    _signed(hospital)
    worker.run_once("w1")
    assert Delivery.objects.get(channel="dmp").state == Delivery.State.GIVEN_UP
    Delivery.objects.filter(state=Delivery.State.FAILED).update(next_attempt_at=timezone.now())
    worker.run_once("w1")
    assert set(Delivery.objects.filter(channel="mssante").values_list("state", flat=True)) == {"sent"}
    events = list(
        Delivery.objects.get(channel="mssante", recipient_role="patient").events.values_list(
            "state", flat=True
        )
    )
    assert events[0] == "pending" and events[-1] == "sent"


def test_sender_crash_does_not_lose_the_delivery(hospital, monkeypatch):
    def boom(delivery):
        raise RuntimeError("bug")

    monkeypatch.setattr(worker, "_SENDERS", {"dmp": boom, "mssante": boom})
    _signed(hospital)
    worker.run_once("w1")
    assert set(Delivery.objects.values_list("state", flat=True)) == {"failed"}
    assert "Erreur interne" in Delivery.objects.first().last_error


def test_stale_claim_of_a_dead_worker_is_taken_again(hospital):
    _signed(hospital)
    picked = outbox.claim("dead-worker", 10)
    assert len(picked) == 3 and outbox.claim("other", 10) == []
    Delivery.objects.update(claimed_at=timezone.now() - outbox.STALE_CLAIM - dt.timedelta(seconds=1))
    again = outbox.claim("other", 10)
    assert {d.pk for d in again} == {d.pk for d in picked}
    assert all(d.attempts == 2 for d in again)


def test_backoff_grows_and_is_capped():
    assert outbox.backoff(1) == outbox.BACKOFF_BASE
    assert outbox.backoff(2) == 2 * outbox.BACKOFF_BASE
    assert outbox.backoff(50) == outbox.BACKOFF_MAX


def test_retry_schedule_waits_out_a_72_hour_outage_with_a_one_hour_cap():
    waits = outbox.retry_schedule()
    assert waits[0] == dt.timedelta(seconds=30)
    assert all(a <= b for a, b in itertools.pairwise(waits))  # never shorter again
    assert max(waits) == outbox.BACKOFF_MAX == dt.timedelta(hours=1)
    # the last attempt comes at least 72 h after the first failure, and not much later
    assert dt.timedelta(hours=72) <= sum(waits, dt.timedelta(0)) < dt.timedelta(hours=73)
    assert len(waits) + 1 == 79  # attempts: 8 growing waits reach the cap, then one an hour


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_claim_the_same_delivery(hospital):
    assert connection.vendor == "postgresql"
    for _ in range(4):  # several letters, each with three deliveries
        stay = hospital["stay"]
        stay.pk = None
        stay.visit_number = f"V{Delivery.objects.count() + 100}"
        stay.save()
        hospital["stay"] = stay
        _signed(hospital)
    claimed: dict[str, list[int]] = {"a": [], "b": []}
    barrier = threading.Barrier(2)

    def run(name: str) -> None:
        from django.db import connections

        barrier.wait()
        while picked := outbox.claim(name, 2):
            claimed[name] += [d.pk for d in picked]
        connections.close_all()

    threads = [threading.Thread(target=run, args=(n,)) for n in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not set(claimed["a"]) & set(claimed["b"])
    assert len(claimed["a"]) + len(claimed["b"]) == Delivery.objects.count() == 12


def test_accented_mssante_address_is_refused_with_the_fix(hospital, monkeypatch):
    from liaison.delivery.config import SmtpConfig
    from liaison.delivery.mssante import SmtpSender

    monkeypatch.setenv("LIAISON_MSS_SMTP", "smtp://127.0.0.1:9")
    gp = hospital["gp"]
    gp.mssante = "agnès.faure@medecin.mssante.fr"
    gp.save()
    _signed(hospital)
    d = Delivery.objects.get(recipient_role="medecin_traitant")
    result = SmtpSender(SmtpConfig.from_env())(d)
    assert not result.ok and not result.retry and "accentués" in result.detail


@pytest.mark.parametrize(
    "kind, state",
    [("delivered", Delivery.State.DELIVERED), ("read", Delivery.State.READ), ("failed", "given_up")],
)
def test_an_acknowledgement_read_before_the_worker_records_its_send_is_kept(
    hospital, monkeypatch, kind, state
):
    """`liaison read-acks` (another process, maybe another host) reads the DSN, MDN or bounce of a
    mail before the worker that sent it has written « envoyé »: the acknowledgement stays."""
    from liaison.delivery import acks

    def sent_and_acknowledged_at_once(delivery):
        ack = acks.Ack(delivery.message_id, kind, delivery.recipient_address, f"accusé {kind}")
        assert acks.apply_ack(ack)  # committed by the acknowledgement reader meanwhile
        return outbox.SendResult(True, "Message accepté par le serveur MSSanté.")

    monkeypatch.setattr(worker, "_SENDERS", {"mssante": sent_and_acknowledged_at_once})
    _signed(hospital)
    worker.run_once("w1")
    mails = Delivery.objects.filter(channel="mssante")
    assert mails.count() == 2
    assert set(mails.values_list("state", flat=True)) == {state}
    assert all(d.sent_at is not None for d in mails)
    Delivery.objects.update(next_attempt_at=timezone.now() - dt.timedelta(days=1))
    # not sent again: only the DMP delivery (no DMP configured in this test) is due once more
    assert {d.channel for d in outbox.claim("w2", 10)} == {"dmp"}
