"""The MSSanté channel against real peers: Postfix (STARTTLS + client certificate, DSN) → LMTP →
Dovecot (IMAPS, certificate login). Mails are read back by IMAP; acknowledgements too."""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from lxml import etree

from liaison.delivery import acks, mssante, outbox, worker
from liaison.delivery.config import AckConfig, SmtpConfig
from liaison.delivery.models import Delivery
from liaison.delivery.xdm import metadata_of, read_xdm_zip
from liaison.demo.sandboxes import mail as mail_sandbox
from liaison.paths import ihe_xds_dir
from tests.delivery.mailpeers import MailPeers
from tests.delivery.test_outbox import _signed

APP = "lettre-de-liaison@ch-de-test.mssante.fr"
GP = "anne.generaliste@medecin.mssante.fr"


@pytest.fixture(scope="session")
def peers():
    # Not under pytest's tmp dir: it is private to root, and the daemons run as postfix / nobody.
    base = Path(tempfile.mkdtemp(prefix="liaison-mailpeers-"))
    p = MailPeers(base).start()
    yield p
    p.stop()
    shutil.rmtree(base, ignore_errors=True)


def peer_env(peers: MailPeers) -> dict[str, str]:
    app = peers.client(APP)
    return {
        "LIAISON_MSS_SMTP": f"smtp+starttls://127.0.0.1:{peers.smtp_port}",
        "LIAISON_MSS_CERT": str(app.cert),
        "LIAISON_MSS_KEY": str(app.key),
        "LIAISON_MSS_CA": str(peers.ca),
        "LIAISON_MSS_FROM": APP,
        "LIAISON_MSS_IMAP": f"imaps://127.0.0.1:{peers.imap_port}",
    }


@pytest.fixture
def mss_env(peers, monkeypatch):
    env = peer_env(peers)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("LIAISON_MSS_MAILDIR_ACKS", raising=False)
    monkeypatch.setattr(worker, "_SENDERS", {})
    mssante.configure(SmtpConfig.from_env())
    mssante._letter_parts.cache_clear()
    yield env
    if mssante._sender is not None:
        mssante._sender.close()


@cache
def lcm_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(ihe_xds_dir() / "schema" / "ebRS" / "lcm.xsd")))


def _parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def _ids(mails: list[bytes]) -> list[str]:
    return [str(_parse(m)["Message-ID"]) for m in mails]


def _letters(hospital, n: int) -> list:
    out = []
    for i in range(n):
        stay = hospital["stay"]
        stay.pk = None
        stay.visit_number = f"P{time.monotonic_ns()}{i}"
        stay.save()
        hospital["stay"] = stay
        out.append(_signed(hospital))
    return out


@pytest.mark.django_db
def test_letter_through_postfix_and_dovecot_then_dsn_and_mdn(hospital, peers, mss_env):
    before = peers.count(GP)
    letter = _signed(hospital)
    assert worker.run_once("w1") == 3
    gp = letter.deliveries.get(recipient_role="medecin_traitant")
    assert gp.state == "sent", gp.last_error

    mails = [m for m in peers.wait_for(GP, before + 1) if gp.message_id.encode() in m]
    assert len(mails) == 1
    msg = _parse(mails[0])
    assert msg["Subject"].startswith(
        "XDM/1.0/DDM+Lettre de liaison a la sortie d'un etabl DUPONT MARIE 12/04/1985"
    )
    assert msg["X-MSS-CODECDA"] == "11490-0" and msg["X-MSS-INS"] == "O" and msg["X-MSS-NIL"]
    files = {p.get_filename(): p.get_content() for p in msg.iter_attachments()}
    assert bytes(letter.document.pdf) in files.values()
    xdm = files["IHE_XDM.ZIP"]
    assert read_xdm_zip(xdm)["IHE_XDM/SUBSET01/DOC0001.XML"] == bytes(letter.document.cda)
    assert lcm_schema().validate(metadata_of(xdm)), lcm_schema().error_log
    ins = hospital["patient"].ins_matricule
    patient_mails = [
        m
        for m in peers.wait_for(f"{ins}@patient.mssante.fr", 1)
        if letter.deliveries.get(recipient_role="patient").message_id.encode() in m
    ]
    assert len(patient_mails) == 1 and _parse(patient_mails[0])["X-MSS-MES"] == "FIN"

    # Postfix's success DSNs (Action: relayed after LMTP) land in the application mailbox.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and gp.state != "delivered":
        acks.read_once(AckConfig.from_env())
        gp.refresh_from_db()
        time.sleep(0.2)
    assert gp.state == "delivered"
    assert letter.deliveries.get(recipient_role="patient").state in ("delivered", "sent")
    # The doctor's software sends a read report (servers never do): the harness plays it.
    peers.deliver(mail_sandbox.build_mdn(mails[0], GP), sender=GP, recipient=APP)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and gp.state != "read":
        acks.read_once(AckConfig.from_env())
        gp.refresh_from_db()
        time.sleep(0.2)
    assert gp.state == "read"
    assert peers.fetch_all(APP, "Accuses"), "processed reports are moved out of INBOX"


@pytest.mark.django_db
def test_smtp_down_for_a_while_then_back(hospital, peers, mss_env):
    peers.stop_smtp()
    try:
        letter = _signed(hospital)
        worker.run_once("w1")
        mails = list(letter.deliveries.filter(channel="mssante"))
        assert {d.state for d in mails} == {"failed"}
        assert all("injoignable" in d.last_error for d in mails)
    finally:
        peers.start_smtp()
    Delivery.objects.filter(state="failed", channel="mssante").update(next_attempt_at=timezone.now())
    worker.run_once("w1")
    gp = letter.deliveries.get(recipient_role="medecin_traitant")
    assert gp.state == "sent" and gp.attempts == 2
    assert _ids(peers.wait_for(GP, 1)).count(gp.message_id) == 1


def _worker_env(mss_env: dict[str, str]) -> dict[str, str]:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return {**os.environ, **mss_env, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "liaison.web.settings"}


def _worker(env: dict[str, str], once: bool = True) -> subprocess.Popen:
    args = [sys.executable, "-m", "liaison.cli", "worker"] + (["--once"] if once else ["--poll", "0.2"])
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _mail_deliveries() -> list[Delivery]:
    return list(Delivery.objects.filter(channel="mssante"))


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_one_outbox_send_each_mail_once(hospital, peers, mss_env):
    letters = _letters(hospital, 8)
    env = _worker_env(mss_env)
    procs = [_worker(env), _worker(env)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()[-2000:]
    sent = _mail_deliveries()
    assert len(sent) == 16 and {d.state for d in sent} == {"sent"}
    assert len({d.claimed_by for d in sent}) == 2, "both workers took part"
    ins = hospital["patient"].ins_matricule
    for address in (GP, f"{ins}@patient.mssante.fr"):
        wanted = {d.message_id for d in sent if d.recipient_address == address}
        got = Counter(i for i in _ids(peers.wait_for(address, len(wanted))) if i in wanted)
        assert set(got) == wanted and set(got.values()) == {1}, got
    assert len(letters) == 8


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_batch_then_restarted(hospital, peers, mss_env):
    """kill -9 during a batch, restart: every mail arrives; a duplicate is possible only for a
    delivery whose transmission had started (flagged in its history), at most one per kill."""
    _letters(hospital, 15)
    env = _worker_env(mss_env)
    ins = hospital["patient"].ins_matricule
    base_gp = peers.count(GP)
    victim = _worker(env, once=False)
    try:
        deadline = time.monotonic() + 60
        while (
            time.monotonic() < deadline
            and Delivery.objects.filter(channel="mssante", state="sent").count() < 6
        ):
            time.sleep(0.01)
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait()
    left = Delivery.objects.filter(channel="mssante").exclude(state="sent").count()
    assert left > 0, "the kill came after the whole batch: nothing to prove"
    # Time passes: the dead worker's claims become stale (outbox.STALE_CLAIM).
    Delivery.objects.filter(state="sending").update(claimed_at=timezone.now() - outbox.STALE_CLAIM * 2)
    Delivery.objects.filter(state="failed", channel="dmp").update(
        next_attempt_at=timezone.now() + outbox.BACKOFF_MAX
    )
    again = _worker(env)
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err.decode()[-2000:]

    mails = _mail_deliveries()
    assert {d.state for d in mails} == {"sent"}
    flagged = {
        d.message_id
        for d in mails
        if d.events.filter(detail__startswith="Renvoi après une interruption").exists()
    }
    assert len(flagged) <= 1
    for address in (GP, f"{ins}@patient.mssante.fr"):
        wanted = {d.message_id for d in mails if d.recipient_address == address}
        got = Counter(
            i
            for i in _ids(peers.wait_for(address, len(wanted) + (base_gp if address == GP else 0)))
            if i in wanted
        )
        assert set(got) == wanted, "every mail arrived"
        duplicated = {i for i, n in got.items() if n > 1}
        assert duplicated <= flagged and all(n <= 2 for n in got.values())
