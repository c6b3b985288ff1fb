"""DMP channel end to end: real HTTP to the loopback sandbox, the worker, states and French errors."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from liaison import signing
from liaison.core.content import Confidentiality, Recipient, RecipientRole
from liaison.delivery import dmp, outbox, vihf, worker
from liaison.delivery import xds_metadata as xds
from liaison.delivery.config import DmpConfig
from liaison.delivery.models import Delivery
from liaison.demo.sandboxes.dmp import Sandbox, StaticPatients, Store, start
from liaison.demo.sandboxes.dmp.server import SandboxServer
from liaison.letters import lifecycle
from liaison.letters.models import LetterDocument, Stay
from tests.conftest import complete_content_updates

pytestmark = pytest.mark.django_db


# --- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture
def sandbox(tmp_path):
    box = Sandbox(Store(tmp_path / "dmp"), StaticPatients(), [vihf.demo_authority().read_bytes()])
    server, _ = start(box)
    yield box, server.url
    server.shutdown()
    server.server_close()


@pytest.fixture
def dmp_channel(sandbox, monkeypatch):
    """The DMP sender registered against the sandbox, as `liaison worker` does from the env."""
    box, url = sandbox
    monkeypatch.setenv("LIAISON_DMP_URL", url)
    monkeypatch.setattr(worker, "_SENDERS", {})
    dmp.configure(DmpConfig.from_env())
    return box, url


def _get(url: str):
    with urllib.request.urlopen(url, timeout=10) as r:
        body = r.read()
        return json.loads(body) if r.headers.get_content_type() == "application/json" else body.decode()


def _stays(hospital, n: int) -> list[Stay]:
    base = hospital["stay"]
    out = [base]
    for i in range(1, n):
        out.append(
            Stay.objects.create(
                establishment=base.establishment,
                patient=base.patient,
                unit=base.unit,
                visit_number=f"V{i + 1:03d}",
                sector=base.sector,
                admission_at=base.admission_at - dt.timedelta(days=10 * i),
                discharge_at=base.discharge_at - dt.timedelta(days=10 * i),
                entry_mode=base.entry_mode,
                exit_mode=base.exit_mode,
                responsible_physician=base.responsible_physician,
            )
        )
    return out


def _sign(hospital, stay: Stay | None = None, updates: dict | None = None):
    user = hospital["users"]["medecin"]
    letter = lifecycle.open_letter(stay or hospital["stay"])
    content = letter.parsed().model_copy(update={**complete_content_updates(), **(updates or {})})
    lifecycle.save_draft(letter.pk, content, letter.revision, user)
    return signing.sign(letter.pk, user)


def _correct(hospital, letter):
    user = hospital["users"]["medecin"]
    new = lifecycle.start_correction(letter.pk, user, "posologie erronée")
    content = new.parsed().model_copy(update={"medical_summary": "Synthèse corrigée."})
    lifecycle.save_draft(new.pk, content, new.revision, user)
    return signing.sign(new.pk, user)


def _dmp_delivery(letter) -> Delivery:
    return Delivery.objects.get(letter=letter, channel="dmp")


def _due_now() -> None:
    Delivery.objects.filter(state=Delivery.State.FAILED).update(next_attempt_at=timezone.now())


# --- filing, patient view, correction, masks --------------------------------------------------


def test_signed_letter_is_filed_listed_and_shown_to_the_patient(hospital, dmp_channel):
    box, url = dmp_channel
    ins = hospital["patient"].ins_matricule
    box.patients.ins.add(ins)
    letter = _sign(hospital)
    worker.run_once("w1")
    d = _dmp_delivery(letter)
    assert d.state == Delivery.State.DELIVERED, d.last_error
    assert d.sent_at and d.acknowledged_at and d.last_error == ""
    assert list(d.events.values_list("state", flat=True)) == ["pending", "sent", "delivered"]
    assert "Accusé d'enregistrement du DMP" in d.events.last().detail

    (doc,) = _get(f"{url}documents?ins={ins}")
    assert doc["uniqueId"] == letter.document_oid and doc["ins"] == ins
    assert doc["status"] == "Approved" and doc["sha256"] == letter.document.cda_sha256
    assert doc["title"].startswith("Lettre de liaison")
    assert doc["submissionTime"] and doc["hidden"]["masked_from_professionals"] is False
    assert _get(f"{url}documents?ins=100000000000000") == []

    page = _get(f"{url}patient/{ins}")
    assert "Mon espace santé" in page and "Lettre de liaison" in page and "Télécharger" in page
    with urllib.request.urlopen(f"{url}documents/{urllib.parse.quote(letter.document_oid)}", timeout=10) as r:
        assert r.read() == bytes(letter.document.cda)

    # the patient hides it from professionals, then shows it again
    form = urllib.parse.urlencode({"uniqueId": letter.document_oid}).encode()
    urllib.request.urlopen(urllib.request.Request(f"{url}patient/{ins}/masquer", data=form), timeout=10)
    (doc,) = _get(f"{url}documents?ins={ins}")
    assert doc["hidden"]["masked_from_professionals"] and doc["hidden"]["hidden_by_patient"]
    assert "Rendre visible aux professionnels" in _get(f"{url}patient/{ins}")
    urllib.request.urlopen(urllib.request.Request(f"{url}patient/{ins}/afficher", data=form), timeout=10)
    assert not _get(f"{url}documents?ins={ins}")[0]["hidden"]["masked_from_professionals"]


def _fetch(url: str) -> tuple[int, str, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.headers.get_content_type(), dict(r.headers), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get_content_type(), dict(exc.headers), exc.read()


def test_the_patient_opens_the_letter_as_a_pdf_and_downloads_it(hospital, dmp_channel):
    """Mon espace santé shows the letter itself, not its XML: the PDF in the page, downloadable."""
    pypdf = pytest.importorskip("pypdf")
    import io
    import re

    from liaison.documents.pdf import extract_cda

    box, url = dmp_channel
    ins = hospital["patient"].ins_matricule
    box.patients.ins.add(ins)
    letter = _sign(hospital)
    worker.run_once("w1")
    assert _dmp_delivery(letter).state == Delivery.State.DELIVERED

    listing = _get(f"{url}patient/{ins}")
    (open_href,) = re.findall(r"href='([^']*/lettre/[^']*)'>Ouvrir<", listing)
    status, kind, _, page = _fetch(url.rstrip("/") + open_href)
    page = page.decode()
    assert status == 200 and kind == "text/html"
    assert "<iframe" in page and f"{open_href}/pdf" in page and "Télécharger le PDF" in page

    status, kind, headers, pdf = _fetch(f"{url.rstrip('/')}{open_href}/pdf")
    assert status == 200 and kind == "application/pdf" and headers["Content-Disposition"].startswith("inline")
    text = " ".join(" ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages).split())
    patient = hospital["patient"]
    assert patient.birth_family_name.upper() in text.upper() and "Lettre de liaison" in text
    assert extract_cda(pdf) == bytes(letter.document.cda)  # the very CDA the DMP holds

    status, kind, headers, again = _fetch(f"{url.rstrip('/')}{open_href}/pdf?telecharger=1")
    assert status == 200 and kind == "application/pdf" and again == pdf
    assert (
        headers["Content-Disposition"]
        == f'attachment; filename="lettre-de-liaison-{letter.document_oid}.pdf"'
    )

    # Another patient's space does not open it; an unknown document is not found.
    assert (
        _fetch(f"{url}patient/100000000000000/lettre/{urllib.parse.quote(letter.document_oid)}/pdf")[0] == 404
    )
    assert _fetch(f"{url}patient/{ins}/lettre/1.2.3.4/pdf")[0] == 404


def test_correction_replaces_the_previous_version(hospital, dmp_channel):
    box, url = dmp_channel
    ins = hospital["patient"].ins_matricule
    box.patients.ins.add(ins)
    v1 = _sign(hospital)
    worker.run_once("w1")
    v2 = _correct(hospital, v1)
    worker.run_once("w1")
    assert _dmp_delivery(v2).state == Delivery.State.DELIVERED, _dmp_delivery(v2).last_error
    docs = {d["uniqueId"]: d for d in _get(f"{url}documents?ins={ins}")}
    assert docs[v1.document_oid]["status"] == "Deprecated"
    assert docs[v2.document_oid]["status"] == "Approved"
    assert docs[v2.document_oid]["replaces"] == xds.entry_uuid_for(v1.document_oid)
    assert "Remplacé" in _get(f"{url}patient/{ins}")


def test_masks_are_carried_and_a_letter_invisible_to_the_patient_is_not_shown(hospital, dmp_channel):
    box, url = dmp_channel
    ins = hospital["patient"].ins_matricule
    box.patients.ins.add(ins)
    gp_only = [Recipient(role=RecipientRole.MEDECIN_TRAITANT, name="Dr A", mssante="a@medecin.mssante.fr")]
    letter = _sign(
        hospital,
        updates={
            "recipients": gp_only,
            "confidentiality": Confidentiality(
                invisible_to_patient=True, invisible_to_legal_representatives=True
            ),
        },
    )
    worker.run_once("w1")
    assert _dmp_delivery(letter).state == Delivery.State.DELIVERED
    (doc,) = _get(f"{url}documents?ins={ins}")
    assert doc["confidentiality"] == ["N", "INVISIBLE_PATIENT", "INVISIBLE_REPRESENTANTS_LEGAUX"]
    assert doc["hidden"]["invisible_to_patient"] and doc["hidden"]["invisible_to_legal_representatives"]
    assert "Aucun document" in _get(f"{url}patient/{ins}")
    hidden = f"{url}patient/{ins}/lettre/{urllib.parse.quote(letter.document_oid)}"
    assert _fetch(hidden)[0] == 404 and _fetch(f"{hidden}/pdf")[0] == 404


# --- refusals: a French message saying what to fix, and the right state ----------------------


def _drop_format_code(original):
    def build(*args, **kwargs):
        sor = original(*args, **kwargs)
        for c in sor.iter(f"{{{xds.RIM}}}Classification"):
            if c.get("classificationScheme") == xds.DE_FORMAT:
                c.getparent().remove(c)
        return sor

    return build


def _tampered(original):
    def sign(assertion, creds):
        signed = original(assertion, creds)
        for value in signed.iter(f"{{{vihf.SAML}}}AttributeValue"):
            if value.text == "INDIRECTE":
                value.text = "DIRECTE"
        return signed

    return sign


def _break_cda(letter) -> None:
    cda = bytes(letter.document.cda).replace(
        b'<administrativeGenderCode code="F"', b'<administrativeGenderCode code="Z"'
    )
    assert cda != bytes(letter.document.cda)
    LetterDocument.objects.filter(pk=letter.document.pk).update(cda=cda)


@pytest.mark.parametrize(
    "case,words",
    [
        ("unknown_patient", "Patient inconnu du DMP : l'INS transmise ne correspond à aucun DMP"),
        ("missing_metadata", "Métadonnées XDS manquantes"),
        ("invalid_cda", "Le document CDA est refusé par le DMP"),
        ("bad_signature", "la signature du jeton VIHF est refusée"),
    ],
)
def test_refusals_give_up_with_what_to_fix(hospital, dmp_channel, monkeypatch, case, words):
    box, url = dmp_channel
    if case != "unknown_patient":
        box.patients.ins.add(hospital["patient"].ins_matricule)
    if case == "missing_metadata":
        monkeypatch.setattr(xds, "submit_objects_request", _drop_format_code(xds.submit_objects_request))
    if case == "bad_signature":
        monkeypatch.setattr(vihf, "sign_assertion", _tampered(vihf.sign_assertion))
    letter = _sign(hospital)
    if case == "invalid_cda":
        _break_cda(letter)
    worker.run_once("w1")
    d = _dmp_delivery(letter)
    assert d.state == Delivery.State.GIVEN_UP
    assert words in d.last_error
    assert d.attempts == 1
    if case == "missing_metadata":
        assert "formatCode" in d.last_error
    if case == "invalid_cda":
        assert "InvalidDocumentContent" in d.last_error
    assert _get(f"{url}documents") == []


# --- transient failures: retried, then filed once ---------------------------------------------


def test_sandbox_down_then_back(hospital, sandbox, monkeypatch, tmp_path):
    box, _ = sandbox
    box.patients.ins.add(hospital["patient"].ins_matricule)
    probe = SandboxServer(("127.0.0.1", 0), box)
    port = probe.server_address[1]
    probe.server_close()
    monkeypatch.setenv("LIAISON_DMP_URL", f"http://127.0.0.1:{port}/")
    monkeypatch.setattr(worker, "_SENDERS", {})
    dmp.configure(DmpConfig.from_env())
    letter = _sign(hospital)
    worker.run_once("w1")
    d = _dmp_delivery(letter)
    assert d.state == Delivery.State.FAILED and "injoignable" in d.last_error
    assert d.next_attempt_at > timezone.now()
    server, _ = start(box, port=port)
    try:
        _due_now()
        worker.run_once("w1")
    finally:
        server.shutdown()
        server.server_close()
    d.refresh_from_db()
    assert d.state == Delivery.State.DELIVERED and d.attempts == 2


def test_timeout_then_retry_finds_it_already_filed(hospital, dmp_channel, monkeypatch):
    box, _ = dmp_channel
    box.patients.ins.add(hospital["patient"].ins_matricule)
    monkeypatch.setenv("LIAISON_DMP_TIMEOUT", "0.3")
    monkeypatch.setattr(worker, "_SENDERS", {})
    dmp.configure(DmpConfig.from_env())
    real = box.provide_and_register
    calls = []

    def slow_first(content_type, body):
        calls.append(1)
        if len(calls) == 1:
            time.sleep(1.0)  # the sandbox files it, but answers after the sender gave up waiting
        return real(content_type, body)

    monkeypatch.setattr(box, "provide_and_register", slow_first)
    letter = _sign(hospital)
    worker.run_once("w1")
    d = _dmp_delivery(letter)
    assert d.state == Delivery.State.FAILED and "n'a pas répondu dans le délai" in d.last_error
    deadline = time.monotonic() + 10
    while box.store.stats()["documents"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    _due_now()
    worker.run_once("w1")
    d.refresh_from_db()
    assert d.state == Delivery.State.DELIVERED
    assert "déjà présent dans le DMP" in d.events.get(state="delivered").detail
    stats = box.store.stats()
    assert stats["documents"] == 1 and stats["accepted"] == 1
    assert stats["refused"] == {"XDSDuplicateUniqueIdInRegistry": 2}  # the document and its submission set


def test_server_error_is_retried(hospital, dmp_channel, monkeypatch):
    box, _ = dmp_channel
    box.patients.ins.add(hospital["patient"].ins_matricule)
    real = box.provide_and_register
    answers = iter([(503, "text/html", b"<html>maintenance</html>")])
    monkeypatch.setattr(box, "provide_and_register", lambda ct, body: next(answers, None) or real(ct, body))
    letter = _sign(hospital)
    worker.run_once("w1")
    d = _dmp_delivery(letter)
    assert d.state == Delivery.State.FAILED and "HTTP 503" in d.last_error and "Nouvel essai" in d.last_error
    _due_now()
    worker.run_once("w1")
    d.refresh_from_db()
    assert d.state == Delivery.State.DELIVERED


# --- concurrency: two workers, and a worker killed mid-batch ----------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_workers_file_each_letter_once(hospital, dmp_channel):
    box, url = dmp_channel
    box.patients.ins.add(hospital["patient"].ins_matricule)
    letters = [_sign(hospital, s) for s in _stays(hospital, 8)]

    def run(name: str) -> None:
        try:
            worker.run_once(name, batch=2)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    states = set(Delivery.objects.filter(channel="dmp").values_list("state", flat=True))
    assert states == {Delivery.State.DELIVERED}
    stats = box.store.stats()
    assert stats["documents"] == len(letters) and stats["accepted"] == len(letters)
    assert stats["refused"] == {}
    assert {d["uniqueId"] for d in _get(f"{url}documents")} == {letter.document_oid for letter in letters}


def _database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _liaison() -> list[str]:
    script = Path(sys.executable).parent / "liaison"
    return [str(script)] if script.exists() else [sys.executable, "-m", "liaison.cli"]


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_batch_then_restarted_files_each_letter_exactly_once(hospital, sandbox):
    box, url = sandbox
    box.patients.ins.add(hospital["patient"].ins_matricule)
    letters = [_sign(hospital, s) for s in _stays(hospital, 12)]
    real = box.provide_and_register

    def slowed(content_type, body):
        time.sleep(0.15)
        return real(content_type, body)

    box.provide_and_register = slowed  # type: ignore[method-assign]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIAISON_MSS")}
    env.update(DATABASE_URL=_database_url(), LIAISON_DMP_URL=url)
    proc = subprocess.Popen(
        [*_liaison(), "worker", "--poll", "0.2"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while box.store.stats()["documents"] < 3 and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    filed_before = box.store.stats()["documents"]
    assert 3 <= filed_before < len(letters)
    in_flight = Delivery.objects.filter(channel="dmp", state=Delivery.State.SENDING)
    assert in_flight.exists()  # the killed worker left claimed deliveries behind
    # Its claims become due again after STALE_CLAIM: let that time pass.
    in_flight.update(claimed_at=timezone.now() - outbox.STALE_CLAIM - dt.timedelta(seconds=1))
    box.provide_and_register = real  # type: ignore[method-assign]
    done = subprocess.run([*_liaison(), "worker", "--once"], env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    states = set(Delivery.objects.filter(channel="dmp").values_list("state", flat=True))
    assert states == {Delivery.State.DELIVERED}
    stats = box.store.stats()
    assert stats["documents"] == len(letters) and stats["accepted"] == len(letters)
    held = [d["uniqueId"] for d in _get(f"{url}documents")]
    assert sorted(held) == sorted(letter.document_oid for letter in letters)  # each exactly once
