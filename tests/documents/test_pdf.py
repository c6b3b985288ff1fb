"""PDF/A-3b letter: starts with %PDF, carries the CDA byte for byte, has PDF/A metadata, is tagged."""

from __future__ import annotations

import pytest

from liaison.documents.cda import build_cda
from liaison.documents.pdf import PdfError, extract_cda, letter_data, render_pdf
from tests.documents import sample_letters as letters
from tests.documents.test_cda import SHAPES


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_pdf_carries_the_cda(shape: str) -> None:
    content, meta = SHAPES[shape](), letters.meta()
    cda = build_cda(content, meta)
    pdf = render_pdf(content, meta, cda)
    assert pdf.startswith(b"%PDF")
    assert extract_cda(pdf) == cda


def test_pdfa_metadata_and_tags() -> None:
    content, meta = letters.complete(), letters.meta()
    pdf = render_pdf(content, meta, build_cda(content, meta))
    assert b"<pdfaid:part>3</pdfaid:part>" in pdf
    assert b"<pdfaid:conformance>B</pdfaid:conformance>" in pdf
    assert b"/AFRelationship/Source" in pdf
    assert b"/EmbeddedFiles" in pdf and b"/AF[" in pdf
    assert b"/StructTreeRoot" in pdf and b"/Lang(fr" in pdf
    assert b"/OutputIntents" in pdf


def test_pdf_is_deterministic() -> None:
    content, meta = letters.complete(), letters.meta()
    cda = build_cda(content, meta)
    assert render_pdf(content, meta, cda) == render_pdf(content, meta, cda)


def test_letter_data_reads_like_a_letter() -> None:
    data = letter_data(letters.complete(), letters.meta())
    assert [m["status"] for m in data["home_medications"]] == ["Nouveau", "Poursuivi", "Modifié"]
    assert data["stopped_medications"][0]["why"].startswith("Insuffisance rénale aiguë")
    assert data["patient"]["ins"].endswith("(identité qualifiée)")


def test_incidents_shown_only_when_there_was_one() -> None:
    from tests.documents.test_cda import bmr_and_blood, incidents

    items = {i["label"]: i["value"] for i in letter_data(incidents(), letters.meta())["items"]}
    assert items["Accident transfusionnel"].startswith("Frissons et hyperthermie")
    assert (
        items["Événement indésirable après les dérivés du sang"] == "Urticaire après la perfusion d'albumine."
    )
    labels = [i["label"] for i in letter_data(bmr_and_blood(), letters.meta())["items"]]
    assert "Accident transfusionnel" not in labels
    assert "Événement indésirable après les dérivés du sang" not in labels


@pytest.mark.parametrize("shape", ["complete", "screening_not_done", "screening_not_answered", "incidents"])
def test_the_patient_is_not_told_about_the_screening(shape: str) -> None:
    """MED-309 stays in the CDA; the PDF says only whether organisms were identified."""
    data = letter_data(SHAPES[shape](), letters.meta())
    assert not any("echerche" in i["label"] or "echerche" in i["value"] for i in data["items"])
    [bmr] = [i["value"] for i in data["items"] if "BMR" in i["label"]]
    assert bmr == ("Oui : Klebsiella pneumoniae BLSE (urines)." if shape == "incidents" else "Aucune")


def test_no_procedures_is_printed() -> None:
    from tests.documents.test_cda import minimal, no_procedures

    assert (
        letter_data(no_procedures(), letters.meta())["procedures"] == "Aucun acte ni examen complémentaire."
    )
    assert letter_data(minimal(), letters.meta())["procedures"] == ""


def test_pdf_text_shows_the_incident() -> None:
    pypdf = pytest.importorskip("pypdf")
    import io

    from tests.documents.test_cda import incidents

    content, meta = incidents(), letters.meta()
    pdf = render_pdf(content, meta, build_cda(content, meta))
    text = " ".join(" ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages).split())
    assert "Accident transfusionnel" in text and "Urticaire après la perfusion" in text


def test_extract_refuses_a_pdf_without_cda() -> None:
    with pytest.raises(PdfError):
        extract_cda(b"%PDF-1.7\n%%EOF")
    with pytest.raises(PdfError):
        extract_cda(b"not a pdf")


def test_pypdf_sees_the_same_attachment() -> None:
    pypdf = pytest.importorskip("pypdf")
    import io

    content, meta = letters.complete(), letters.meta()
    cda = build_cda(content, meta)
    reader = pypdf.PdfReader(io.BytesIO(render_pdf(content, meta, cda)))
    assert next(iter(reader.attachments.values()))[0] == cda


def test_any_ldl_ses_cda_renders_with_the_same_layout() -> None:
    from liaison.documents.pdf import render_cda_pdf
    from liaison.paths import ldl_ses_dir

    pytest.importorskip("liaison.documents.reader")
    example = (ldl_ses_dir() / "ExemplesCDA/LDL-SES_2022.01.xml").read_bytes()
    pdf = render_cda_pdf(example)
    assert pdf.startswith(b"%PDF") and extract_cda(pdf) == example
    ours = build_cda(letters.complete(), letters.meta())
    assert extract_cda(render_cda_pdf(ours)) == ours


def test_a_preview_is_marked_on_every_page_and_the_letter_is_not() -> None:
    pypdf = pytest.importorskip("pypdf")
    import io

    content, meta = letters.complete(), letters.meta()
    cda = build_cda(content, meta)

    def pages(pdf: bytes) -> list[str]:
        return [" ".join(p.extract_text().split()) for p in pypdf.PdfReader(io.BytesIO(pdf)).pages]

    preview = pages(render_pdf(content, meta, cda, preview=True))
    assert all("APERÇU — NON SIGNÉ" in page for page in preview)
    assert not any("APERÇU" in page for page in pages(render_pdf(content, meta, cda)))


def test_render_from_many_threads_at_once() -> None:
    """12 previews of one letter at once (the review's probe): every one renders, byte-identical."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    content, meta = letters.complete(), letters.meta()
    cda = build_cda(content, meta)
    expected = render_pdf(content, meta, cda)
    start = threading.Barrier(12)

    def render(_: int) -> bytes:
        start.wait()
        return render_pdf(content, meta, cda, preview=False)

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(render, range(12)))
    assert results == [expected] * 12


def _with_pdf_copy(cda: bytes, pdf: bytes) -> bytes:
    """The CDA with the CI-SIS section « Copie du document » (55108-5) carrying `pdf`."""
    import base64

    from lxml import etree

    h = "urn:hl7-org:v3"
    doc = etree.fromstring(cda)
    body = doc.find(f"{{{h}}}component/{{{h}}}structuredBody")
    section = etree.SubElement(etree.SubElement(body, f"{{{h}}}component"), f"{{{h}}}section")
    etree.SubElement(section, f"{{{h}}}templateId", root="1.2.250.1.213.1.1.2.243")
    etree.SubElement(section, f"{{{h}}}code", code="55108-5", codeSystem="2.16.840.1.113883.6.1")
    etree.SubElement(section, f"{{{h}}}title").text = "Copie du document"
    organizer = etree.SubElement(
        etree.SubElement(section, f"{{{h}}}entry"), f"{{{h}}}organizer", classCode="CLUSTER", moodCode="EVN"
    )
    media = etree.SubElement(
        etree.SubElement(organizer, f"{{{h}}}component"), f"{{{h}}}observationMedia", classCode="OBS"
    )
    value = etree.SubElement(media, f"{{{h}}}value", mediaType="application/pdf", representation="B64")
    value.text = base64.b64encode(pdf).decode()
    return etree.tostring(doc, xml_declaration=True, encoding="UTF-8")


def test_patient_view_shows_the_pdf_copy_a_cda_carries_or_lays_the_cda_out() -> None:
    from liaison.documents.pdf import embedded_pdf, patient_view_pdf

    content, meta = letters.complete(), letters.meta()
    ours = build_cda(content, meta)
    # Liaison's CDA carries no PDF copy: the patient sees the CDA laid out, the CDA attached as is.
    assert embedded_pdf(ours) is None
    shown = patient_view_pdf(ours)
    assert shown.startswith(b"%PDF") and extract_cda(shown) == ours
    # Another system's CDA with its own PDF copy: that copy is what the patient sees, unchanged.
    copy = b"%PDF-1.7\n% copie du document\n%%EOF\n"
    theirs = _with_pdf_copy(ours, copy)
    assert embedded_pdf(theirs) == copy and patient_view_pdf(theirs) == copy
