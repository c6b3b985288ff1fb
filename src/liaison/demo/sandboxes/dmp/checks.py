"""What the sandbox checks in an ITI-41 request, as the DMP would (pure: lxml, no Django).

- the SOAP body against the IHE XDS.b schemas of `standards/ihe-xds/`;
- the French metadata of an LDL-SES (dmp-and-mssante.md §2.4–2.5): every required slot,
  classification and identifier present, coded with the expected scheme and value set;
- consistency between the metadata, the CDA header and the VIHF token.

Each problem is an `iti41.RegistryError` with the IHE code and a French `context`:
`XDSMissingDocumentMetadata` for what is absent, `XDSRegistryMetadataError` for a wrong value,
`XDSRepositoryMetadataError` for size/hash, `XDSPatientIdDoesNotMatch`, `XDSMissingDocument`.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from functools import cache

from lxml import etree

from liaison.core.codes import HL7_V3
from liaison.core.identifiers import INS_OIDS, OID_FINESS, OID_RPPS, IdentifierError, validate_ins
from liaison.delivery import xds_metadata as x
from liaison.delivery.iti41 import NS, RegistryError
from liaison.documents.validation import value_set
from liaison.documents.xmlsafe import XmlInputError, parse_xml
from liaison.paths import ihe_xds_dir, ldl_ses_dir

MISSING = "XDSMissingDocumentMetadata"
WRONG = "XDSRegistryMetadataError"
V3 = HL7_V3
_OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")
_DTM = re.compile(r"^[0-9]{4}([0-9]{2}){0,5}$")
_CX = re.compile(r"^(?P<id>[^^]+)\^\^\^&(?P<oid>[0-9.]+)&ISO\^(?P<kind>[A-Z]+)$")


@cache
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(ihe_xds_dir() / "schema/IHE/XDS.b_DocumentRepository.xsd")))


_schema_lock = threading.Lock()


@cache
def _value_sets() -> dict[str, frozenset[tuple[str, str]]]:
    jdv = ldl_ses_dir() / "jeuxDeValeurs"
    return {
        "facility": value_set(jdv, "JDV_J02_XdsHealthcareFacilityTypeCode_CISIS"),
        "practice": value_set(jdv, "JDV_J04_XdsPracticeSettingCode_CISIS"),
        "confidentiality": value_set(jdv, "JDV_J08_XdsConfidentialityCode_CISIS"),
    }


def schema_errors(request: etree._Element) -> list[RegistryError]:
    """`ProvideAndRegisterDocumentSetRequest` against XDS.b_DocumentRepository.xsd."""
    schema = _schema()
    with _schema_lock:  # an XMLSchema's error log is per instance
        if schema.validate(request):
            return []
        log = list(schema.error_log)[:5]
    return [
        RegistryError(WRONG, f"Requête non conforme au schéma XDS.b (ligne {e.line}) : {e.message}")
        for e in log
    ]


@dataclass
class Entry:
    """What the sandbox keeps of one DocumentEntry of the request."""

    id: str
    unique_id: str = ""
    patient_id: str = ""
    title: str = ""
    creation_time: str = ""
    confidentiality: list[tuple[str, str]] = field(default_factory=list)
    hash: str = ""
    size: str = ""
    author_institution: str = ""


@dataclass
class Submission:
    entries: dict[str, Entry] = field(default_factory=dict)  # by ExtrinsicObject id
    set_id: str = ""
    set_unique_id: str = ""
    patient_id: str = ""
    replacements: list[tuple[str, str]] = field(default_factory=list)  # (new entry id, old entryUUID)


def _slots(obj: etree._Element) -> dict[str, list[str]]:
    return {
        s.get("name", ""): [v.text or "" for v in s.iterfind("rim:ValueList/rim:Value", NS)]
        for s in obj.iterfind("rim:Slot", NS)
    }


def _name(obj: etree._Element) -> str:
    ls = obj.find("rim:Name/rim:LocalizedString", NS)
    return (ls.get("value") or "").strip() if ls is not None else ""


def _classifications(obj: etree._Element, scheme: str) -> list[etree._Element]:
    return [c for c in obj.iterfind("rim:Classification", NS) if c.get("classificationScheme") == scheme]


def _external(obj: etree._Element, scheme: str) -> str:
    for e in obj.iterfind("rim:ExternalIdentifier", NS):
        if e.get("identificationScheme") == scheme:
            return e.get("value") or ""
    return ""


class _Report:
    def __init__(self) -> None:
        self.errors: list[RegistryError] = []

    def missing(self, what: str, where: str = "") -> None:
        self.errors.append(
            RegistryError(MISSING, f"Métadonnée obligatoire absente : {what}.", location=where)
        )

    def wrong(self, what: str, where: str = "", code: str = WRONG) -> None:
        self.errors.append(RegistryError(code, what, location=where))


def _coded(
    r: _Report,
    obj: etree._Element,
    scheme: str,
    label: str,
    where: str,
    expected: tuple[str, str] | None = None,
    allowed: frozenset[tuple[str, str]] | None = None,
    many: bool = False,
) -> list[tuple[str, str]]:
    found = _classifications(obj, scheme)
    if not found:
        r.missing(label, where)
        return []
    if len(found) > 1 and not many:
        r.wrong(f"{label} : une seule valeur attendue, {len(found)} reçues.", where)
    out = []
    for c in found:
        code = c.get("nodeRepresentation") or ""
        system = (_slots(c).get("codingScheme") or [""])[0]
        if not code or not system:
            r.missing(f"{label} (code et codingScheme)", where)
            continue
        if not _name(c):
            r.missing(f"{label} : libellé (Name)", where)
        if expected and (code, system) != expected:
            r.wrong(f"{label} : {code} / {system} reçu, {expected[0]} / {expected[1]} attendu.", where)
        if allowed is not None and (code, system) not in allowed:
            r.wrong(f"{label} : {code} / {system} n'appartient pas au jeu de valeurs du CI-SIS.", where)
        out.append((code, system))
    return out


def _patient(r: _Report, value: str, label: str, where: str) -> None:
    if not value:
        r.missing(label, where)
        return
    m = _CX.match(value)
    if not m or m.group("kind") != "NH":
        r.wrong(f"{label} : {value!r} n'est pas une INS au format CX (matricule^^^&OID&ISO^NH).", where)
        return
    if m.group("oid") not in INS_OIDS:
        r.wrong(f"{label} : OID {m.group('oid')} qui n'est pas celui d'une INS.", where)
    try:
        validate_ins(m.group("id"))
    except IdentifierError as exc:
        r.wrong(f"{label} : {exc}", where)


def _author(r: _Report, obj: etree._Element, scheme: str, where: str) -> str:
    found = _classifications(obj, scheme)
    if not found:
        r.missing("auteur (author)", where)
        return ""
    slots = _slots(found[0])
    person = (slots.get("authorPerson") or [""])[0]
    institution = (slots.get("authorInstitution") or [""])[0]
    if not person:
        r.missing("auteur : authorPerson", where)
    elif f"&{OID_RPPS}&ISO" not in person:
        r.wrong(f"authorPerson {person!r} : identifiant national (RPPS, OID {OID_RPPS}) attendu.", where)
    if not institution:
        r.missing("auteur : authorInstitution", where)
    elif f"&{OID_FINESS}&ISO^IDNST" not in institution:
        r.wrong(
            f"authorInstitution {institution!r} : structure identifiée par FINESS (IDNST) attendue.", where
        )
    return institution


def check_submission(sor: etree._Element) -> tuple[Submission, list[RegistryError]]:
    """The French metadata rules on an `lcm:SubmitObjectsRequest`."""
    r = _Report()
    sub = Submission()
    objects = sor.find("rim:RegistryObjectList", NS)
    if objects is None:
        r.missing("liste des objets (RegistryObjectList)")
        return sub, r.errors
    sets = {
        c.get("classifiedObject", "")
        for c in objects.iterfind("rim:Classification", NS)
        if c.get("classificationNode") == x.SUBMISSION_SET
    }
    packages = [p for p in objects.iterfind("rim:RegistryPackage", NS) if p.get("id") in sets]
    if len(packages) != 1:
        r.missing("lot de soumission (RegistryPackage classé SubmissionSet)")
    entries = [
        e for e in objects.iterfind("rim:ExtrinsicObject", NS) if e.get("objectType") == x.DOCUMENT_ENTRY
    ]
    if not entries:
        r.missing("fiche document (ExtrinsicObject DocumentEntry)")
    confidentiality = _value_sets()["confidentiality"]
    for de in entries:
        eid = de.get("id", "")
        where = f"DocumentEntry {eid}"
        entry = Entry(id=eid)
        sub.entries[eid] = entry
        if de.get("mimeType") != "text/xml":
            r.wrong(f"mimeType {de.get('mimeType')!r} : text/xml attendu pour un CDA.", where)
        slots = _slots(de)
        for name, label in (
            ("creationTime", "date de création (creationTime)"),
            ("serviceStartTime", "début de prise en charge (serviceStartTime)"),
            ("serviceStopTime", "fin de prise en charge (serviceStopTime)"),
        ):
            value = (slots.get(name) or [""])[0]
            if not value:
                r.missing(label, where)
            elif not _DTM.match(value):
                r.wrong(f"{label} : {value!r} n'est pas une date XDS (AAAAMMJJhhmmss, UTC).", where)
        entry.creation_time = (slots.get("creationTime") or [""])[0]
        if (slots.get("languageCode") or [""])[0] != x.LANGUAGE:
            r.wrong(f"languageCode : {x.LANGUAGE} attendu.", where)
        if not (slots.get("sourcePatientId") or [""])[0]:
            r.missing("identifiant local du patient (sourcePatientId)", where)
        legal = (slots.get("legalAuthenticator") or [""])[0]
        if not legal:
            r.missing("responsable du document (legalAuthenticator)", where)
        elif f"&{OID_RPPS}&ISO" not in legal:
            r.wrong("legalAuthenticator : identifiant national du signataire (RPPS) attendu.", where)
        entry.hash = (slots.get("hash") or [""])[0]
        entry.size = (slots.get("size") or [""])[0]
        entry.title = _name(de)
        if not entry.title:
            r.missing("titre du document (Name)", where)
        entry.author_institution = _author(r, de, x.DE_AUTHOR, where)
        _coded(r, de, x.DE_CLASS, "classe du document (classCode)", where, x.CLASS_CODE[:2])
        _coded(r, de, x.DE_TYPE, "type du document (typeCode)", where, x.TYPE_CODE[:2])
        _coded(r, de, x.DE_FORMAT, "format du document (formatCode)", where, x.FORMAT_CODE[:2])
        _coded(
            r,
            de,
            x.DE_FACILITY,
            "type d'établissement (healthcareFacilityTypeCode)",
            where,
            allowed=_value_sets()["facility"],
        )
        _coded(
            r,
            de,
            x.DE_PRACTICE,
            "cadre d'exercice (practiceSettingCode)",
            where,
            allowed=_value_sets()["practice"],
        )
        conf = _coded(
            r,
            de,
            x.DE_CONFIDENTIALITY,
            "confidentialité (confidentialityCode)",
            where,
            allowed=confidentiality,
            many=True,
        )
        entry.confidentiality = conf
        if conf and conf[0][1] != x.CONFIDENTIALITY_SCHEME:
            r.wrong(
                "confidentialityCode : la première valeur doit être N, R ou V (HL7 Confidentiality).", where
            )
        if len(conf) > 4:
            r.wrong(f"confidentialityCode : 4 valeurs au plus, {len(conf)} reçues.", where)
        entry.patient_id = _external(de, x.DE_PATIENT_ID)
        _patient(r, entry.patient_id, "identifiant patient du document (patientId)", where)
        entry.unique_id = _external(de, x.DE_UNIQUE_ID)
        if not entry.unique_id:
            r.missing("identifiant unique du document (uniqueId)", where)
        elif not _OID.match(entry.unique_id.split("^")[0]):
            r.wrong(f"uniqueId {entry.unique_id!r} : OID attendu.", where)
    for pkg in packages[:1]:
        where = f"SubmissionSet {pkg.get('id')}"
        sub.set_id = pkg.get("id", "")
        slots = _slots(pkg)
        t = (slots.get("submissionTime") or [""])[0]
        if not t:
            r.missing("date de soumission (submissionTime)", where)
        elif not _DTM.match(t):
            r.wrong(f"submissionTime {t!r} : date XDS attendue.", where)
        _author(r, pkg, x.SS_AUTHOR, where)
        _coded(r, pkg, x.SS_CONTENT_TYPE, "type d'activité du lot (contentTypeCode)", where)
        sub.set_unique_id = _external(pkg, x.SS_UNIQUE_ID)
        if not sub.set_unique_id:
            r.missing("identifiant unique du lot (uniqueId)", where)
        elif not _OID.match(sub.set_unique_id):
            r.wrong(f"uniqueId du lot {sub.set_unique_id!r} : OID attendu.", where)
        source = _external(pkg, x.SS_SOURCE_ID)
        if not source:
            r.missing("identifiant de l'application émettrice (sourceId)", where)
        elif not _OID.match(source):
            r.wrong(f"sourceId {source!r} : OID attendu.", where)
        sub.patient_id = _external(pkg, x.SS_PATIENT_ID)
        _patient(r, sub.patient_id, "identifiant patient du lot (patientId)", where)
        for e in sub.entries.values():
            if sub.patient_id and e.patient_id and e.patient_id != sub.patient_id:
                r.wrong(
                    f"Le patient du document {e.id} ({e.patient_id}) diffère de celui du lot "
                    f"({sub.patient_id}).",
                    where,
                    code="XDSPatientIdDoesNotMatch",
                )
    members = set()
    for a in objects.iterfind("rim:Association", NS):
        kind, src, tgt = a.get("associationType"), a.get("sourceObject", ""), a.get("targetObject", "")
        if kind == x.HAS_MEMBER and src == sub.set_id and tgt in sub.entries:
            if (_slots(a).get("SubmissionSetStatus") or [""])[0] != "Original":
                r.wrong(
                    "Association HasMember : SubmissionSetStatus=Original attendu.",
                    f"Association {a.get('id')}",
                )
            members.add(tgt)
        elif kind == x.RPLC:
            if src not in sub.entries:
                r.wrong(
                    "Association RPLC : la source doit être un document du lot.", f"Association {a.get('id')}"
                )
            elif not tgt.startswith("urn:uuid:"):
                r.wrong(
                    "Association RPLC : la cible doit être un entryUUID (urn:uuid:…).",
                    f"Association {a.get('id')}",
                )
            else:
                sub.replacements.append((src, tgt))
    for eid in sub.entries:
        if eid not in members:
            r.missing(f"association HasMember du lot vers le document {eid}")
    return sub, r.errors


def check_documents(sub: Submission, documents: dict[str, bytes]) -> list[RegistryError]:
    """Every DocumentEntry has its document and every document its entry; size/hash match."""
    out = []
    for eid, entry in sub.entries.items():
        data = documents.get(eid)
        if data is None:
            out.append(RegistryError("XDSMissingDocument", f"Document {eid} annoncé mais absent de l'envoi."))
            continue
        if entry.size and entry.size != str(len(data)):
            out.append(
                RegistryError(
                    "XDSRepositoryMetadataError",
                    f"Taille annoncée {entry.size} octets, {len(data)} reçus (document {eid}).",
                )
            )
        if entry.hash and entry.hash.lower() != hashlib.sha1(data).hexdigest():
            out.append(
                RegistryError(
                    "XDSRepositoryMetadataError",
                    f"Empreinte SHA-1 annoncée différente de celle du document reçu ({eid}).",
                )
            )
    for did in documents:
        if did not in sub.entries:
            out.append(RegistryError(MISSING, f"Document {did} reçu sans fiche de métadonnées."))
    return out


def check_cda_header(entry: Entry, cda: bytes) -> list[RegistryError]:
    """The metadata must say what the CDA says (id, patient, type)."""
    try:
        doc = parse_xml(cda, f"Le document {entry.id}")
    except XmlInputError as exc:
        return [RegistryError("InvalidDocumentContent", str(exc))]
    out = []
    ns = {"h": V3}
    doc_id = doc.find("h:id", ns)
    cda_uid = ""
    if doc_id is not None:
        cda_uid = doc_id.get("root", "") + (f"^{doc_id.get('extension')}" if doc_id.get("extension") else "")
    if entry.unique_id and cda_uid != entry.unique_id:
        out.append(
            RegistryError(WRONG, f"uniqueId {entry.unique_id} différent de l'identifiant du CDA ({cda_uid}).")
        )
    ins_ids = [
        f"{i.get('extension')}^^^&{i.get('root')}&ISO^NH"
        for i in doc.iterfind("h:recordTarget/h:patientRole/h:id", ns)
        if i.get("root") in INS_OIDS
    ]
    if entry.patient_id and entry.patient_id not in ins_ids:
        out.append(
            RegistryError(
                "XDSPatientIdDoesNotMatch",
                f"Le patient des métadonnées ({entry.patient_id}) n'est pas celui du CDA.",
            )
        )
    code = doc.find("h:code", ns)
    if code is None or (code.get("code"), code.get("codeSystem")) != x.TYPE_CODE[:2]:
        out.append(
            RegistryError(WRONG, "Le CDA n'est pas une lettre de liaison (code LOINC 11490-0 attendu).")
        )
    return out
