"""PDF/A-3b copy of the letter (Typst), carrying its CDA as an associated file.

`render_pdf(content, meta, cda_bytes)` lays the letter out in the order a patient and a GP read
it (who, why, what happened, the treatment to take at home, what next, whom to call, signature)
with the Typst template `letter.typ`. The CDA is attached with `pdf.attach` (Typst ≥ 0.14),
AFRelationship /Source, so the PDF is PDF/A-3b. `extract_cda(pdf)` reads it back byte for byte.
`patient_view_pdf(cda)` is what a patient's viewer shows of any LDL-SES CDA: the PDF copy the
CDA carries, if any, otherwise the CDA laid out by `render_cda_pdf`.
Pure Python, no Django.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import queue
import re
import threading
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typst

from liaison.core import catalogue
from liaison.core.codes import HL7_V3
from liaison.core.content import (
    ENTRY_MODE_LABELS,
    EXIT_MODE_LABELS,
    FOLLOW_UP_LABELS,
    IDENTITY_STATUS_LABELS,
    MEDICATION_STATUS_LABELS,
    RECIPIENT_ROLE_LABELS,
    LetterContent,
    Presence,
    Professional,
)
from liaison.core.paris import PARIS
from liaison.documents.cda import NO_PROCEDURES_TEXT, DocumentMeta

if TYPE_CHECKING:
    from lxml import etree
    from typst import PDFStandard  # only in typst's stubs

TEMPLATE = Path(__file__).with_name("letter.typ")
PDF_STANDARDS: list[PDFStandard] = ["a-3b"]  # typst 0.14+: "a-3b" allows attachments (PDF/A-2 forbids them)
CDA_NAME = "lettre-de-liaison-cda.xml"


class PdfError(ValueError):
    """The PDF carries no CDA, or it cannot be read."""


def _date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(PARIS).strftime("%d/%m/%Y à %H h %M")
    return value.strftime("%d/%m/%Y")


def _who(p: Professional | None) -> str:
    if p is None:
        return ""
    parts = [p.display_name, p.specialty, p.organisation if p.organisation != p.display_name else ""]
    return ", ".join(x for x in parts if x)


def _presence(item: Presence, yes: str = "Oui", no: str = "Non") -> str:
    if item.present is None:
        return "Non renseigné"
    if item.present:
        return f"{yes} : {item.details}" if item.details else yes
    return no


def _printed(key: str) -> str:
    """The label of a field's line on the PDF (the catalogue's)."""
    element = catalogue.BY_KEY[key]
    return element.printed or element.label


def letter_data(content: LetterContent, meta: DocumentMeta) -> dict[str, Any]:
    """Everything the template prints, as JSON-ready French strings."""
    c, p = content, content.patient
    patient_name = " ".join(
        x for x in (p.used_given_name or p.first_given_name, p.used_family_name or p.birth_family_name) if x
    )
    ins = (
        f"{p.ins_matricule} ({IDENTITY_STATUS_LABELS[p.identity_status].lower()})" if p.ins_matricule else ""
    )
    stay_admission = _date(c.admission_at)
    if c.entry_mode:
        stay_admission += f" — {ENTRY_MODE_LABELS[c.entry_mode]}"
    stay_discharge = _date(c.discharge_at)
    if c.exit_mode:
        stay_discharge += f" — {EXIT_MODE_LABELS[c.exit_mode]}"
    if c.destination:
        stay_discharge += f" ({c.destination})"
    if c.planned_discharge is not None and not c.discharge_recorded:  # signed before the A03
        stay_discharge = f"prévue le {stay_discharge}"
    values = {
        "adverse_events": _presence(c.adverse_events, no="Aucun"),
        "resistant_organisms": _presence(c.resistant_organisms, no="Aucune"),
        "transfusion": _presence(c.transfusion),
        "transfusion_incident": c.transfusion_incident.strip(),
        "blood_derivatives": _presence(c.blood_derivatives),
        "blood_derivatives_incident": c.blood_derivatives_incident.strip(),
        "implanted_devices": _presence(c.implanted_devices, no="Aucun"),
        "allergies": _presence(c.allergies, no="Aucune"),
    }
    items = [(_printed(key), value) for key, value in values.items()]
    # The incidents only when there was one. Whether a BMR/BHRe search was done (CDA MED-309) is
    # not for the patient: the letter says only whether organisms were identified.
    items = [(label, value) for label, value in items if value]
    for device in c.devices:
        detail = ", ".join(
            x for x in (device.udi and f"IUD {device.udi}", device.lot and f"lot {device.lot}") if x
        )
        items.append(
            (_printed("devices"), f"{device.description} {_date(device.implanted_on)} {detail}".strip())
        )
    home: list[dict[str, str]] = []
    stopped: list[dict[str, str]] = []
    for m in c.medications:
        row = {
            "medicine": m.medicine,
            "route": m.route,
            "dosage": m.dosage or "non précisée",
            "duration": m.duration or "non précisée",
            "status": MEDICATION_STATUS_LABELS[m.status] if m.status else "",
            "why": "; ".join(x for x in (m.reason, m.comment) if x.strip())
            + (
                f" (avant : {m.usual_treatment})"
                if m.usual_treatment and m.usual_treatment != m.medicine
                else ""
            ),
        }
        (home if m.taken_at_home else stopped).append(row)
    mt = c.medecin_traitant
    author = meta.author
    return {
        "title": "Lettre de liaison à la sortie",
        "version_note": f"Version {meta.version_number}"
        + (" — remplace la version précédente" if meta.replaces else ""),
        "effective_time": _date(meta.effective_time),
        "document_id": f"{meta.id.root}" + (f"^{meta.id.extension}" if meta.id.extension else ""),
        "cda_name": CDA_NAME,
        "establishment": {
            "name": c.establishment.name,
            "unit": c.establishment.unit_name,
            "address": c.establishment.address,
            "phone": c.establishment.phone,
            "contact": " — ".join(x for x in (c.establishment.unit_name, c.establishment.phone) if x),
        },
        "patient": {
            "name": patient_name,
            "birth_name": p.birth_family_name
            if p.used_family_name and p.used_family_name != p.birth_family_name
            else "",
            "birth_date": _date(p.birth_date),
            "ins": ins,
            "ipp": p.ipp or "",
            "address": p.address.replace("\n", ", "),
        },
        "physician": _who(c.responsible_physician or author),
        "medecin_traitant": _who(mt)
        if mt
        else ("Pas de médecin traitant déclaré" if c.no_medecin_traitant else ""),
        "medecin_traitant_contact": " — ".join(x for x in (mt.display_name, mt.phone) if x) if mt else "",
        "adresseur": _who(c.adresseur),
        "receiving": _who(c.receiving_structure),
        "stay": {"admission": stay_admission, "discharge": stay_discharge},
        "reason": c.reason,
        "summary": c.medical_summary,
        "procedures": c.procedures_and_exams.strip()
        or (NO_PROCEDURES_TEXT if c.no_procedures_and_exams else ""),
        "items": [{"label": label, "value": value} for label, value in items],
        "home_medications": home,
        "stopped_medications": stopped,
        "no_medication_text": "Aucun traitement médicamenteux à la sortie."
        if c.no_discharge_medication or c.medications
        else "Traitement de sortie non renseigné.",
        "follow_up": [
            {
                "kind": FOLLOW_UP_LABELS[f.kind],
                "description": f.description
                + (f" (orientation : {f.orientation.value})" if f.orientation else ""),
                "date": _date(f.date),
                "with_whom": f.with_whom,
            }
            for f in c.follow_up
        ],
        "no_follow_up_text": "Aucune suite particulière."
        if c.no_follow_up
        else "Suites à donner non renseignées.",
        "pending_results": [
            {"description": r.description, "expected_on": _date(r.expected_on), "followed_by": r.followed_by}
            for r in c.pending_results
        ],
        "no_pending_results": c.no_pending_results,
        "emergency_contact": c.emergency_contact,
        "recipients": [
            f"{RECIPIENT_ROLE_LABELS[r.role]}{' : ' + r.name if r.name else ''}" for r in c.recipients
        ],
        "signer": {"name": author.display_name, "rpps": author.rpps or ""},
        "prepared_by": c.prepared_by.display_name if c.prepared_by else "",
        "signed_at": _date(meta.signed_at),
    }


class CompilerPool:
    """Typst compilers lent to one render at a time.

    A `typst.Compiler` may not be used by two threads at once ("Already borrowed"), and building
    one scans the fonts (tens of ms). The pool keeps the idle ones and builds another only when
    all are busy, so a compiler is reused by the next request whichever thread serves it (Django's
    development server starts a thread per request, which would defeat a per-thread compiler),
    and renders run in parallel instead of queueing behind a lock (`bench_documents.py` compares).
    """

    def __init__(self, template: Path = TEMPLATE):
        self.template = template
        self._idle: queue.SimpleQueue[typst.Compiler] = queue.SimpleQueue()
        self.created = 0
        self._count = threading.Lock()

    @contextmanager
    def lend(self) -> Iterator[typst.Compiler]:
        try:
            compiler = self._idle.get_nowait()
        except queue.Empty:
            compiler = typst.Compiler(str(self.template))
            with self._count:
                self.created += 1
        try:
            yield compiler
        finally:
            self._idle.put(compiler)


_compilers = CompilerPool()


TO_COMPLETE = "à compléter"


def _marked_to_complete(data: dict[str, Any], missing: Sequence[str]) -> dict[str, Any]:
    """A draft's preview: every element still missing reads « à compléter », and the list of
    what the decree still requires heads the first page."""
    for key in ("reason", "summary"):
        if not data[key].strip():
            data[key] = TO_COMPLETE
    if not data["medecin_traitant"]:
        data["medecin_traitant"] = TO_COMPLETE
    data["items"] = [
        it | {"value": TO_COMPLETE} if it["value"] == "Non renseigné" else it for it in data["items"]
    ]
    if data["no_medication_text"] == "Traitement de sortie non renseigné.":
        data["no_medication_text"] = f"Traitement de sortie : {TO_COMPLETE}."
    if data["no_follow_up_text"] == "Suites à donner non renseignées.":
        data["no_follow_up_text"] = f"Suites à donner : {TO_COMPLETE}."
    data["missing"] = list(missing)
    return data


def render_pdf(
    content: LetterContent,
    meta: DocumentMeta,
    cda_bytes: bytes | None,
    preview: bool = False,
    missing: Sequence[str] = (),
) -> bytes:
    """The patient's PDF/A-3b letter with the CDA attached (AFRelationship /Source).

    Deterministic: the PDF timestamp is the document's effective time. `preview` prints
    "APERÇU — NON SIGNÉ" across every page (the signature page's preview of a draft), so a
    printed or downloaded preview cannot pass for the letter; it marks each missing element
    « à compléter » and lists `missing` at the top. A draft too incomplete for a CDA is previewed
    without one (`cda_bytes` None); a letter that is not a preview always carries its CDA.
    Safe to call from several threads.
    """
    if cda_bytes is None and not preview:
        raise PdfError("Une lettre signée porte toujours sa version CDA.")
    try:
        cda_text = cda_bytes.decode("utf-8") if cda_bytes is not None else ""
    except UnicodeDecodeError as exc:
        raise PdfError("Le CDA à joindre n'est pas encodé en UTF-8.") from exc
    data = letter_data(content, meta) | {"preview": preview, "attach": cda_bytes is not None}
    if preview:
        data = _marked_to_complete(data, missing)
    inputs = {"data": json.dumps(data, ensure_ascii=False), "cda": cda_text}
    with _compilers.lend() as compiler:
        pdf = compiler.compile(
            sys_inputs=inputs,
            pdf_standards=PDF_STANDARDS,
            timestamp=int(meta.effective_time.timestamp()),
        )
    if not isinstance(pdf, bytes):  # a list of pages comes only from image formats
        raise PdfError("La mise en page n'a pas produit de document PDF.")
    return pdf


# --- reading the CDA back ---------------------------------------------------------------------

_STREAM_RE = re.compile(rb"(\d+)\s+0\s+obj\s*<<(.*?)>>\s*stream\r?\n", re.S)
_INDIRECT_RE = rb"%d\s+0\s+obj\s*(\d+)\s*endobj"


def extract_cda(pdf_bytes: bytes) -> bytes:
    """The CDA attached to a PDF made by `render_pdf`, byte-identical to what was attached.

    A small reader for our own output (stream objects are never inside object streams, so the
    embedded-file dictionary is always readable): the first `/Type/EmbeddedFile` stream,
    inflated if it is Flate-encoded.
    """
    if not pdf_bytes.startswith(b"%PDF"):
        raise PdfError("Ce fichier n'est pas un PDF.")
    for m in _STREAM_RE.finditer(pdf_bytes):
        head = m.group(2)
        if b"/EmbeddedFile" not in head or b"/Type/EmbeddedFile" not in head.replace(b" ", b""):
            continue
        length = re.search(rb"/Length\s+(\d+)(\s+0\s+R)?", head)
        if not length:
            raise PdfError("Pièce jointe CDA illisible : longueur absente.")
        n = int(length.group(1))
        if length.group(2):
            ref = re.search(_INDIRECT_RE % n, pdf_bytes)
            if not ref:
                raise PdfError("Pièce jointe CDA illisible : longueur introuvable.")
            n = int(ref.group(1))
        data = pdf_bytes[m.end() : m.end() + n]
        if b"/FlateDecode" in head:
            data = zlib.decompress(data)
        return data
    raise PdfError("Ce PDF ne contient pas de lettre de liaison au format CDA.")


# --- any LDL-SES CDA → the same layout --------------------------------------------------------


def render_cda_pdf(cda_bytes: bytes) -> bytes:
    """The PDF/A-3b layout of any LDL-SES CDA (read with `reader.read_cda`), CDA attached as is."""
    from liaison.documents.cda import DocumentId
    from liaison.documents.reader import parse_ts, read_cda
    from liaison.documents.xmlsafe import parse_xml

    reading = read_cda(cda_bytes)
    doc = parse_xml(cda_bytes, "Le document CDA")
    ns = {"h": HL7_V3}

    def ii(path: str) -> DocumentId | None:
        el = doc.find(path, ns)
        return DocumentId(el.get("root", ""), el.get("extension")) if el is not None else None

    when = parse_ts(_attr(doc, "h:effectiveTime", ns))
    when = when or reading.facts.signed_at or dt.datetime.now(PARIS)
    version = _attr(doc, "h:versionNumber", ns)
    meta = DocumentMeta(
        id=ii("h:id") or DocumentId("inconnu"),
        set_id=ii("h:setId") or DocumentId("inconnu"),
        version_number=int(version) if version.isdigit() else 1,
        effective_time=when,
        author=reading.content.responsible_physician or Professional(),
        signed_at=reading.facts.signed_at or when,
        confidentiality_code=_attr(doc, "h:confidentialityCode", ns, "code") or "N",
        replaces=ii("h:relatedDocument[@typeCode='RPLC']/h:parentDocument/h:id"),
    )
    return render_pdf(reading.content, meta, cda_bytes)


def _attr(doc: etree._Element, path: str, ns: dict[str, str], name: str = "value") -> str:
    el = doc.find(path, ns)
    return el.get(name, "") if el is not None else ""


# --- what a patient's viewer shows ------------------------------------------------------------

_CDA_NS = {"h": HL7_V3}
# A PDF copy inside a CDA: an unstructured body (nonXMLBody), or the CI-SIS section « Copie du
# document » (LOINC 55108-5, templateId 1.2.250.1.213.1.1.2.243) whose FR-Document-attache entry
# holds an observationMedia; both base64 (representation B64).
_PDF_COPIES = (
    "h:component/h:nonXMLBody/h:text[@mediaType='application/pdf'][@representation='B64']",
    ".//h:observationMedia/h:value[@mediaType='application/pdf'][@representation='B64']",
)


def embedded_pdf(cda_bytes: bytes) -> bytes | None:
    """The PDF copy a CDA carries (see `_PDF_COPIES`), decoded, or None. Liaison's own CDA
    carries none: its PDF/A-3b carries the CDA, not the reverse."""
    from liaison.documents.xmlsafe import parse_xml

    doc = parse_xml(cda_bytes, "Le document CDA")
    for path in _PDF_COPIES:
        for value in doc.iterfind(path, _CDA_NS):
            text = "".join((value.text or "").split())
            try:
                data = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                continue
            if data.startswith(b"%PDF"):
                return data
    return None


def patient_view_pdf(cda_bytes: bytes) -> bytes:
    """The letter as the patient's « Mon espace santé » shows it: the CDA's own PDF copy when it
    carries one, otherwise the CDA laid out by `render_cda_pdf` (the same layout as the patient's
    paper copy, the CDA attached as is). Raises `CdaReadError` or `PdfError` when neither works."""
    return embedded_pdf(cda_bytes) or render_cda_pdf(cda_bytes)
