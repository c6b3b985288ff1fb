"""The MSSanté channel against the aiosmtpd sandbox: send, acknowledgements, errors, retries."""

from __future__ import annotations

import socket

import pytest
from django.utils import timezone

from liaison.delivery import acks, mssante, outbox, worker
from liaison.delivery.config import AckConfig, ConfigError, SmtpConfig, WorkerConfig
from liaison.delivery.models import Delivery
from liaison.delivery.xdm import read_xdm_zip
from liaison.demo.sandboxes import mail as mail_sandbox
from liaison.letters.lifecycle import LifecycleError
from tests.delivery.test_outbox import _signed

pytestmark = pytest.mark.django_db

APP = "lettre-de-liaison@ch-de-test.mssante.fr"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def sandbox(tmp_path):
    port = free_port()
    controller = mail_sandbox.start(tmp_path / "mail", port=port)
    yield controller, tmp_path / "mail", port
    controller.stop()


def _sender(monkeypatch, port: int, **env: str) -> mssante.SmtpSender:
    config = SmtpConfig.from_env({"LIAISON_MSS_SMTP": f"smtp://127.0.0.1:{port}", **env})
    sender = mssante.SmtpSender(config)
    monkeypatch.setattr(worker, "_SENDERS", {"mssante": sender})
    mssante._letter_parts.cache_clear()
    return sender


def _mss(letter) -> list[Delivery]:
    return list(letter.deliveries.filter(channel="mssante").order_by("recipient_role"))


def test_configure_from_env_registers_the_sender(monkeypatch):
    monkeypatch.setattr(worker, "_SENDERS", {})
    monkeypatch.setenv("LIAISON_MSS_SMTP", "smtp+starttls://127.0.0.1:10587")
    worker.configure(WorkerConfig.from_env())  # as `liaison worker` does
    sender = worker.sender_for("mssante")
    assert isinstance(sender, mssante.SmtpSender) and sender.config.security == "starttls"
    with pytest.raises(ConfigError, match="LIAISON_MSS_SMTP invalide"):
        SmtpConfig.from_env({"LIAISON_MSS_SMTP": "http://x"})


def test_letter_is_mailed_then_delivered_and_read(hospital, sandbox, monkeypatch):
    controller, root, port = sandbox
    controller.handler.auto_mdn = True
    _sender(monkeypatch, port, LIAISON_MSS_MDN="1")
    letter = _signed(hospital)
    assert worker.run_once("w1") == 3  # the DMP (no sender here: failed, retried later) and two mails
    gp, patient = _mss(letter)
    assert {gp.state, patient.state} == {"sent"}
    assert "Accepté par le serveur MSSanté : 250" in gp.events.last().detail

    box = mail_sandbox.list_mailbox(root, "anne.generaliste@medecin.mssante.fr")
    assert len(box) == 1 and box[0].kind == "lettre" and box[0].message_id == gp.message_id
    msg = mail_sandbox.read_message(root, "anne.generaliste@medecin.mssante.fr", box[0].key)
    assert msg["From"].addresses[0].addr_spec == APP
    assert msg["X-MSS-INS"] == "O" and msg["X-MSS-NIL"] and msg["X-MSS-MES"] is None
    files = {p.get_filename(): p.get_content() for p in msg.iter_attachments()}
    xdm_files = read_xdm_zip(files["IHE_XDM.ZIP"])
    assert xdm_files["IHE_XDM/SUBSET01/DOC0001.XML"] == bytes(letter.document.cda)
    assert bytes(letter.document.pdf) in files.values()
    ins = hospital["patient"].ins_matricule
    patient_mail = mail_sandbox.list_mailbox(root, f"{ins}@patient.mssante.fr")
    assert len(patient_mail) == 1
    assert (
        mail_sandbox.read_message(root, f"{ins}@patient.mssante.fr", patient_mail[0].key)["X-MSS-MES"]
        == "FIN"
    )

    kinds = sorted(m.kind for m in mail_sandbox.list_mailbox(root, APP))
    assert kinds == ["accusé de lecture"] * 2 + ["accusé de réception"] * 2
    monkeypatch.setenv("LIAISON_MSS_MAILDIR_ACKS", str(root))
    monkeypatch.delenv("LIAISON_MSS_IMAP", raising=False)
    assert acks.read_once(AckConfig.from_env()) == 4
    assert {d.state for d in _mss(letter)} == {"read"}
    assert acks.read_once(AckConfig.from_env()) == 0  # each report is read once
    assert all(not m.unread for m in mail_sandbox.list_mailbox(root, APP))


def test_dsn_only_gives_delivered(hospital, sandbox, monkeypatch):
    _, root, port = sandbox
    _sender(monkeypatch, port)
    letter = _signed(hospital)
    worker.run_once("w1")
    monkeypatch.setenv("LIAISON_MSS_MAILDIR_ACKS", str(root))
    assert acks.read_once(AckConfig.from_env()) == 2
    gp, _ = _mss(letter)
    assert gp.state == "delivered" and "Remis à anne.generaliste" in gp.events.last().detail


def test_address_outside_mssante_is_refused_at_signature(hospital):
    gp = hospital["gp"]
    gp.mssante = "anne.generaliste@gmail.com"
    gp.save()
    with pytest.raises(LifecycleError, match="n'est pas une boîte MSSanté"):
        _signed(hospital)


def test_address_refused_by_the_server_is_given_up_with_what_to_fix(hospital, sandbox, monkeypatch):
    _, _, port = sandbox
    _sender(monkeypatch, port)
    gp = hospital["gp"]
    gp.mssante = "anne.generaliste@patient.mssante.fr"  # a GP typed into the patients' domain
    gp.save()
    letter = _signed(hospital)
    worker.run_once("w1")
    d = letter.deliveries.get(recipient_role="medecin_traitant")
    assert d.state == "given_up"
    assert "Adresse refusée par le serveur MSSanté (550 5.1.1" in d.last_error
    assert "annuaire santé" in d.last_error
    assert letter.deliveries.get(recipient_role="patient").state == "sent"


def test_server_down_then_back_retries_and_sends(hospital, tmp_path, monkeypatch):
    port = free_port()
    _sender(monkeypatch, port)
    letter = _signed(hospital)
    worker.run_once("w1")
    assert {d.state for d in _mss(letter)} == {"failed"}
    assert "Serveur MSSanté injoignable (127.0.0.1:" in _mss(letter)[0].last_error
    controller = mail_sandbox.start(tmp_path / "mail", port=port)
    try:
        Delivery.objects.filter(state="failed").update(next_attempt_at=timezone.now())
        worker.run_once("w1")
        assert {d.state for d in _mss(letter)} == {"sent"}
        assert controller.handler.received == 2
    finally:
        controller.stop()


def test_one_connection_is_reused_and_replaced_when_the_server_drops_it(hospital, sandbox, monkeypatch):
    controller, _, port = sandbox
    sessions: list[str] = []
    original = controller.handler.handle_EHLO

    async def counting(server, session, envelope, hostname, responses):
        sessions.append(hostname)
        return await original(server, session, envelope, hostname, responses)

    controller.handler.handle_EHLO = counting
    sender = _sender(monkeypatch, port)
    letter = _signed(hospital)
    worker.run_once("w1")
    assert len(sessions) == 1  # two mails, one SMTP session
    sender._local.smtp.sock.shutdown(socket.SHUT_RDWR)  # the kept connection is dead
    Delivery.objects.filter(pk=_mss(letter)[0].pk).update(state="pending", next_attempt_at=timezone.now())
    worker.run_once("w1")
    assert _mss(letter)[0].state == "sent" and len(sessions) == 2


def test_resend_after_a_crash_during_data_is_flagged_and_deduplicated(hospital, sandbox, monkeypatch):
    controller, root, port = sandbox
    _sender(monkeypatch, port)
    letter = _signed(hospital)
    gp = letter.deliveries.get(recipient_role="medecin_traitant")
    # A first worker claimed it, transmitted it, and was killed before recording the result.
    outbox.claim("dead", 10, channels=["dmp"])  # (leave the DMP aside)
    picked = [d for d in outbox.claim("dead", 10) if d.pk == gp.pk]
    assert picked
    sender = worker.sender_for("mssante")
    assert sender(picked[0]).ok  # sent, but never settled: the worker "died" here
    Delivery.objects.filter(pk=gp.pk).update(claimed_at=timezone.now() - outbox.STALE_CLAIM * 2)
    worker.run_once("w2")
    gp.refresh_from_db()
    assert gp.state == "sent" and gp.attempts == 2
    details = list(gp.events.values_list("detail", flat=True))
    assert any(d.startswith("Renvoi après une interruption") for d in details)
    # Sent twice with the same Message-ID; the receiving side keeps one copy.
    assert controller.handler.received >= 2
    assert len(mail_sandbox.list_mailbox(root, "anne.generaliste@medecin.mssante.fr")) == 1


def test_crash_before_data_is_not_in_doubt(hospital, sandbox, monkeypatch):
    _, _, port = sandbox
    _sender(monkeypatch, port)
    letter = _signed(hospital)
    gp = letter.deliveries.get(recipient_role="medecin_traitant")
    outbox.claim("dead", 10)
    Delivery.objects.update(claimed_at=timezone.now() - outbox.STALE_CLAIM * 2)
    worker.run_once("w2")
    gp.refresh_from_db()
    assert gp.state == "sent"
    assert not gp.events.filter(detail__startswith="Renvoi après une interruption").exists()


def test_a_medecin_traitant_named_by_the_physician_is_mailed(hospital, sandbox, monkeypatch):
    from liaison.core.content import Recipient, RecipientRole
    from liaison.core.identifiers import idnat_ps
    from tests.conftest import valid_rpps

    _, root, port = sandbox
    _sender(monkeypatch, port)
    hospital["patient"].medecin_traitant = None  # the GAM knows none
    hospital["patient"].save()
    rpps, address = valid_rpps(777), "jean.durand@medecin.mssante.fr"
    named = Recipient(role=RecipientRole.MEDECIN_TRAITANT, name="Dr Jean Durand", rpps=rpps, mssante=address)
    letter = _signed(hospital, {"resistant_organisms_screened": False, "recipients": [named]})
    assert letter.parsed().medecin_traitant.source == "medecin"
    worker.run_once("w1")
    gp = letter.deliveries.get(recipient_role="medecin_traitant")
    assert (gp.state, gp.recipient_address) == ("sent", address)
    box = mail_sandbox.list_mailbox(root, address)
    assert len(box) == 1 and box[0].kind == "lettre"
    msg = mail_sandbox.read_message(root, address, box[0].key)
    files = {p.get_filename(): p.get_content() for p in msg.iter_attachments()}
    cda = read_xdm_zip(files["IHE_XDM.ZIP"])["IHE_XDM/SUBSET01/DOC0001.XML"]
    assert idnat_ps(rpps).encode() in cda and address.encode() in cda  # the CDA's médecin traitant
