"""At signature the CDA and the PDF are produced once, validated with the ANS artefacts, stored
with their sha-256, downloadable and exportable; the demo's letters all pass `liaison validate`."""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import pytest
from django.core.management import CommandError, call_command
from lxml import etree

from liaison import signing
from liaison.core.content import Presence
from liaison.demo.hospital import generate
from liaison.documents.pdf import extract_cda
from liaison.documents.validation import LdlSesValidator, errors
from liaison.letters import lifecycle
from liaison.letters.models import AuditEvent, Letter, LetterDocument
from tests.conftest import complete_content_updates

pytestmark = pytest.mark.django_db
V3 = {"v3": "urn:hl7-org:v3"}


def _signed(hospital, updates: dict | None = None) -> Letter:
    letter = lifecycle.open_letter(hospital["stay"])
    content = letter.parsed().model_copy(update={**complete_content_updates(), **(updates or {})})
    lifecycle.save_draft(letter.pk, content, letter.revision, hospital["users"]["medecin"])
    return signing.sign(letter.pk, hospital["users"]["medecin"])


def test_signature_stores_a_valid_cda_inside_the_pdf(hospital):
    letter = _signed(hospital)
    doc = LetterDocument.objects.get(letter=letter)
    cda, pdf = bytes(doc.cda), bytes(doc.pdf)
    assert hashlib.sha256(cda).hexdigest() == doc.cda_sha256
    assert hashlib.sha256(pdf).hexdigest() == doc.pdf_sha256
    assert errors(LdlSesValidator().validate(cda)) == []
    assert pdf.startswith(b"%PDF") and extract_cda(pdf) == cda
    tree = etree.fromstring(cda)
    assert tree.find("v3:id", V3).get("root") == letter.document_oid
    assert tree.find("v3:code", V3).get("code") == "11490-0"
    ins = tree.xpath("//v3:recordTarget//v3:id[@root='1.2.250.1.213.1.4.10']/@extension", namespaces=V3)
    assert ins == [hospital["patient"].ins_matricule]


def test_a_letter_the_cda_cannot_carry_is_not_signed(hospital):
    letter = lifecycle.open_letter(hospital["stay"])
    content = letter.parsed().model_copy(
        update={**complete_content_updates(), "resistant_organisms": Presence(present=True, details="")}
    )
    lifecycle.save_draft(letter.pk, content, letter.revision, hospital["users"]["medecin"])
    with pytest.raises(lifecycle.LifecycleError, match="ne peut pas être signée"):
        signing.sign(letter.pk, hospital["users"]["medecin"])
    assert Letter.objects.get(pk=letter.pk).status == Letter.Status.DRAFT
    assert not LetterDocument.objects.exists()


def test_correction_replaces_the_filed_document(hospital):
    v1 = _signed(hospital)
    v2 = lifecycle.start_correction(v1.pk, hospital["users"]["medecin"], "Erreur de posologie")
    signing.sign(v2.pk, hospital["users"]["medecin"])
    tree = etree.fromstring(bytes(LetterDocument.objects.get(letter=v2).cda))
    assert tree.find("v3:setId", V3).get("root") == v1.set_oid
    assert tree.find("v3:versionNumber", V3).get("value") == "2"
    rplc = tree.find("v3:relatedDocument", V3)
    assert rplc.get("typeCode") == "RPLC"
    assert rplc.find("v3:parentDocument/v3:id", V3).get("root") == v1.document_oid
    # the first version's documents are untouched
    assert (
        LetterDocument.objects.get(letter=v1).cda_sha256
        == hashlib.sha256(bytes(LetterDocument.objects.get(letter=v1).cda)).hexdigest()
    )


def test_download_from_the_letter_page(client, hospital):
    client.force_login(hospital["users"]["secretaire"])
    draft = lifecycle.open_letter(hospital["stay"])
    assert client.get(f"/lettres/{draft.pk}/lettre.pdf").status_code == 404
    letter = _signed(hospital)
    page = client.get(f"/lettres/{letter.pk}/").content.decode()
    assert "Lettre PDF (patient)" in page
    pdf = client.get(f"/lettres/{letter.pk}/lettre.pdf")
    assert (
        pdf["Content-Type"] == "application/pdf"
        and extract_cda(pdf.content) == client.get(f"/lettres/{letter.pk}/cda.xml").content
    )
    assert AuditEvent.objects.filter(action="download", object_id=str(letter.pk)).count() == 2


def test_export_commands(tmp_path, hospital):
    draft = lifecycle.open_letter(hospital["stay"])
    with pytest.raises(CommandError, match="n'est pas signée"):
        call_command("export", "--letter", str(draft.pk), "--out", str(tmp_path), stdout=io.StringIO())
    letter = _signed(hospital)
    call_command("export", "--letter", str(letter.pk), "--out", str(tmp_path), stdout=io.StringIO())
    assert (tmp_path / f"{letter.pk}.xml").read_bytes() == bytes(letter.document.cda)


def test_every_demo_letter_exports_and_validates(tmp_path):
    generate(120, seed=5, today=dt.date(2026, 11, 20))
    out = tmp_path / "export"
    call_command("export_all", "--out", str(out), stdout=io.StringIO())
    signed = Letter.objects.filter(status=Letter.Status.SIGNED)
    files = sorted(out.glob("*.xml"))
    assert len(files) == signed.count() > 80
    assert {p.stem for p in out.glob("*.pdf")} == {str(x.pk) for x in signed}
    report = io.StringIO()
    call_command("validate", *map(str, files), "--format", "json", stdout=report)  # exit 1 would raise
    assert '"valid": false' not in report.getvalue()


def test_validate_command_fails_on_a_bad_document(tmp_path, hospital):
    letter = _signed(hospital)
    tree = etree.fromstring(bytes(letter.document.cda))
    tree.find("v3:code", V3).set("code", "11488-4")
    bad = tmp_path / "bad.xml"
    bad.write_bytes(etree.tostring(tree))
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("validate", str(bad), stdout=out)
    assert exit_.value.code == 1 and "11490-0" in out.getvalue()


@pytest.mark.slow
def test_demo_letters_pass_structuration_minimale_too(hospital):
    letter = _signed(hospital)
    full = LdlSesValidator(full=True)
    assert errors(full.validate(bytes(letter.document.cda))) == []


@pytest.mark.django_db(transaction=True)
def test_two_physicians_sign_at_the_same_moment(hospital):
    """Signing renders the PDF: two signatures at once, while a colleague previews another letter
    (the same renderer), must all succeed — six rounds."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from liaison.documents.cda import build_cda
    from liaison.documents.pdf import render_pdf
    from liaison.letters.models import Stay
    from liaison.letters.rendering import document_meta

    users = hospital["users"]
    drafts = []
    for i in range(12):
        unit = hospital["mater"] if i % 2 else hospital["cardio"]
        stay = Stay.objects.create(
            establishment=hospital["est"],
            patient=hospital["patient"],
            unit=unit,
            visit_number=f"VS{i}",
            sector="MCO",
            admission_at=hospital["stay"].admission_at,
            discharge_at=hospital["stay"].discharge_at,
            entry_mode="urgence",
            exit_mode="domicile",
            responsible_physician=users["medecin"].practitioner,
        )
        signer = users["sage_femme"] if i % 2 else users["medecin"]
        letter = lifecycle.open_letter(stay)
        content = letter.parsed().model_copy(update=complete_content_updates())
        lifecycle.save_draft(letter.pk, content, letter.revision, signer)
        drafts.append((letter.pk, signer))
    preview = Letter.objects.select_related("stay").get(pk=drafts[0][0])
    preview_content = preview.parsed()
    meta = document_meta(preview, preview_content.responsible_physician, hospital["stay"].discharge_at)
    preview_cda = build_cda(preview_content, meta)

    def sign(job: tuple[int, object], gate: threading.Barrier, done: threading.Event) -> str:
        try:
            gate.wait()
            return signing.sign(job[0], job[1]).status
        finally:
            done.set()
            connection.close()

    def previews(gate: threading.Barrier, done: list[threading.Event]) -> int:
        gate.wait()
        n = 0
        while not all(e.is_set() for e in done):
            render_pdf(preview_content, meta, preview_cda, preview=True)
            n += 1
        return n

    for a, b in zip(drafts[0::2], drafts[1::2], strict=True):
        gate, done = threading.Barrier(3), [threading.Event(), threading.Event()]
        with ThreadPoolExecutor(max_workers=3) as pool:
            signed = [pool.submit(sign, job, gate, ev) for job, ev in ((a, done[0]), (b, done[1]))]
            rendered = pool.submit(previews, gate, done)
            assert [f.result() for f in signed] == [Letter.Status.SIGNED] * 2
            assert rendered.result() >= 1
    assert LetterDocument.objects.count() == 12
