"""XDS ebRIM metadata of an LDL-SES letter: `submit_objects_request(...) -> lcm:SubmitObjectsRequest`.

Pure Python (lxml), no Django. One builder for both transports:
- MSSanté / IHE XDM (`METADATA.XML` in `IHE_XDM.ZIP`): pass `xdm_uri` (the file name of the CDA in
  `SUBSET01`) and the mail's `intended_recipients`;
- DMP / IHE XDS.b ITI-41: no `xdm_uri`; wrap the element in `ProvideAndRegisterDocumentSetRequest`.

The header values (unique id, times, author, legal authenticator, facility and practice codes,
patient ids and traits) are read from the CDA being sent, so the metadata can never disagree with
the document; the letter content gives what the CDA does not carry (the masking choices, the
identity status). Values and UUIDs follow dmp-and-mssante.md §2.4–2.5 and §4.4. Inconsistent or
missing data raises `XdsMetadataError` with a French message.

Entry UUIDs are derived from the document uniqueId (`entry_uuid_for`), so a replacement can point
its RPLC association at a version Liaison submitted earlier without querying the registry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from liaison.core.codes import HL7_V3 as V3
from liaison.core.codes import LDL_SES_DOCUMENT_CODE
from liaison.core.content import IdentityStatus, LetterContent
from liaison.core.identifiers import INS_OIDS, OID_FINESS, OID_RPPS
from liaison.documents.xmlsafe import XmlInputError, parse_xml

LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
NSMAP = {"lcm": LCM, "rim": RIM}
_NS = {"h": V3}

# Generic IHE identifiers (§2.4).
DOCUMENT_ENTRY = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
DE_AUTHOR = "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d"
DE_CLASS = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a"
DE_CONFIDENTIALITY = "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f"
DE_FORMAT = "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d"
DE_FACILITY = "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1"
DE_PRACTICE = "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead"
DE_TYPE = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983"
DE_PATIENT_ID = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
DE_UNIQUE_ID = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
SUBMISSION_SET = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
SS_AUTHOR = "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d"
SS_CONTENT_TYPE = "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500"
SS_PATIENT_ID = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446"
SS_SOURCE_ID = "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832"
SS_UNIQUE_ID = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"
HAS_MEMBER = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
RPLC = "urn:ihe:iti:2007:AssociationType:RPLC"

# LDL-SES values (§2.5): (code, codingScheme, display name).
TYPE_CODE = LDL_SES_DOCUMENT_CODE
CLASS_CODE = ("10", "1.2.250.1.213.1.1.4.1", "Compte rendu")
FORMAT_CODE = ("urn:asip:ci-sis:ldl-ses:2017", "1.2.250.1.213.1.1.4.2.282", "Lettre de liaison de sortie")
CONFIDENTIALITY_SCHEME = "2.16.840.1.113883.5.25"
CONFIDENTIALITY_LABELS = {"N": "Normal", "R": "Restreint", "V": "Très restreint"}
VISIBILITY_SCHEME = "1.2.250.1.213.1.1.4.13"  # TRE_A07-StatutVisibiliteDocument
MASK_CODES = (
    ("masked_from_professionals", "MASQUE_PS", "Masqué aux professionnels de santé"),
    ("invisible_to_patient", "INVISIBLE_PATIENT", "Non visible par le patient"),
    (
        "invisible_to_legal_representatives",
        "INVISIBLE_REPRESENTANTS_LEGAUX",
        "Non visible par les représentants légaux du patient",
    ),
)
# SubmissionSet.contentTypeCode (JDV_J59): PV1-2 "I" (hospitalisation) → 03. The codingScheme is
# unconfirmed (dmp-and-mssante.md §2.5).
CONTENT_TYPE_CODE = ("03", "1.2.250.1.213.2.2", "Hospitalisation")
SUBMISSION_SET_TITLE = "Lettre de liaison à la sortie"
LANGUAGE = "fr-FR"


class XdsMetadataError(ValueError):
    """The CDA or the ids cannot give valid metadata; the message is French."""


@dataclass(frozen=True, slots=True)
class DocumentIds:
    """The identifiers the caller fixes (the CDA gives the rest).

    - `unique_id`: the document uniqueId, CDA `id@root` (`^extension` if any) — checked against the CDA;
    - `submission_set_unique_id`: an OID fixed per submission (e.g. `Delivery.submission_oid`), so a
      retry carries the same one;
    - `source_id`: the OID of the sending application (see `source_id_for`).
    """

    unique_id: str
    submission_set_unique_id: str
    source_id: str


def entry_uuid_for(unique_id: str) -> str:
    """The DocumentEntry entryUUID Liaison gives a document: stable, derived from its uniqueId."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_OID, unique_id)}"


def submission_set_uuid_for(unique_id: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_OID, 'ss:' + unique_id)}"


def source_id_for(finess: str) -> str:
    """A stable OID (UUID arc 2.25, no registration needed) for Liaison in one establishment."""
    return f"2.25.{uuid.uuid5(uuid.NAMESPACE_OID, 'liaison:' + finess).int}"


def xds_time(value: dt.datetime) -> str:
    """XDS DTM: UTC, YYYYMMDDhhmmss."""
    return value.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S")


def _cda_time(value: str) -> dt.datetime:
    """A CDA TS with seconds and offset (as Liaison writes them), e.g. 20241203110000+0100."""
    for fmt in ("%Y%m%d%H%M%S%z", "%Y%m%d%H%M%z"):
        try:
            return dt.datetime.strptime(value, fmt)
        except ValueError:
            continue
    raise XdsMetadataError(f"Date CDA illisible pour les métadonnées XDS : {value!r}.")


@dataclass(frozen=True, slots=True)
class _Header:
    unique_id: str
    title: str
    effective_time: dt.datetime
    confidentiality: str
    ins: tuple[str, str] | None  # (matricule, OID)
    ipp: tuple[str, str] | None  # (IPP, assigning authority OID)
    family: str
    given: str
    birth: str
    sex: str
    author_xcn: str
    author_specialty: str
    institution_xon: str
    legal_xcn: str
    service_start: dt.datetime | None
    service_stop: dt.datetime | None
    facility: tuple[str, str, str]
    practice: tuple[str, str, str]


def _first(doc: etree._Element, *paths: str) -> etree._Element | None:
    """The first node found by the first path that finds one (lxml elements without children
    are falsy, so `a or b` cannot be used)."""
    for path in paths:
        found = doc.xpath(path, namespaces=_NS)
        if found:
            return found[0]
    return None


def _xcn(entity: etree._Element | None, what: str) -> str:
    if entity is None:
        raise XdsMetadataError(f"Le CDA n'a pas de {what}.")
    rpps = _first(entity, f"h:id[@root='{OID_RPPS}']")
    if rpps is None:
        raise XdsMetadataError(f"Le {what} du CDA n'a pas d'identifiant national (RPPS).")
    family = (entity.findtext(f".//{{{V3}}}family") or "").strip()
    given = (entity.findtext(f".//{{{V3}}}given") or "").strip()
    return f"{rpps.get('extension')}^{family}^{given}^^^^^^&{OID_RPPS}&ISO^D^^^RPPS"


def _code(node: etree._Element | None, what: str) -> tuple[str, str, str]:
    if node is None or not node.get("code"):
        raise XdsMetadataError(f"Le CDA n'a pas de {what}.")
    return node.get("code", ""), node.get("codeSystem", ""), node.get("displayName", "")


def _read_header(cda: bytes) -> _Header:
    try:
        doc = parse_xml(cda, "Le CDA")
    except XmlInputError as exc:
        raise XdsMetadataError(str(exc)) from exc
    doc_id = _first(doc, "h:id")
    if doc_id is None or not doc_id.get("root"):
        raise XdsMetadataError("Le CDA n'a pas d'identifiant (ClinicalDocument/id).")
    unique_id = doc_id.get("root", "") + (f"^{doc_id.get('extension')}" if doc_id.get("extension") else "")
    eff = _first(doc, "h:effectiveTime")
    if eff is None or not eff.get("value"):
        raise XdsMetadataError("Le CDA n'a pas de date de création (effectiveTime).")
    role = _first(doc, "h:recordTarget/h:patientRole")
    if role is None:
        raise XdsMetadataError("Le CDA n'a pas de patient (recordTarget).")
    ins = ipp = None
    for pid in role.findall(f"{{{V3}}}id"):
        root, ext = pid.get("root", ""), pid.get("extension", "")
        if not ext:
            continue
        if root in INS_OIDS:
            ins = ins or (ext, root)
        else:
            ipp = ipp or (ext, root)
    patient = _first(role, "h:patient")
    family = given = birth = sex = ""
    if patient is not None:
        f = _first(patient, "h:name/h:family[@qualifier='BR']", "h:name/h:family")
        family = (f.text or "").strip() if f is not None else ""
        g = _first(patient, "h:name/h:given[@qualifier='BR']", "h:name/h:given")
        given = (g.text or "").strip() if g is not None else ""
        b = _first(patient, "h:birthTime")
        birth = b.get("value", "") if b is not None else ""
        s = _first(patient, "h:administrativeGenderCode")
        sex = s.get("code", "") if s is not None else ""
    author = _first(doc, "h:author/h:assignedAuthor")
    author_code = _first(doc, "h:author/h:assignedAuthor/h:code")
    specialty = ""
    if author_code is not None and author_code.get("code"):
        specialty = "^".join(
            (
                author_code.get("code", ""),
                author_code.get("displayName", ""),
                author_code.get("codeSystem", ""),
            )
        )
    org = _first(doc, "h:custodian/h:assignedCustodian/h:representedCustodianOrganization")
    org_id = _first(org, f"h:id[@root='{OID_FINESS}']") if org is not None else None
    if org is None or org_id is None:
        raise XdsMetadataError("Le CDA n'a pas d'établissement identifié par son FINESS (custodian).")
    org_name = (org.findtext(f"{{{V3}}}name") or "").strip()
    institution = f"{org_name}^^^^^&{OID_FINESS}&ISO^IDNST^^^{org_id.get('extension')}"
    low = _first(doc, "h:documentationOf/h:serviceEvent/h:effectiveTime/h:low")
    high = _first(doc, "h:documentationOf/h:serviceEvent/h:effectiveTime/h:high")
    conf = _first(doc, "h:confidentialityCode")
    title = (doc.findtext(f"{{{V3}}}title") or "").strip()
    return _Header(
        unique_id=unique_id,
        title=title,
        effective_time=_cda_time(eff.get("value", "")),
        confidentiality=conf.get("code", "N") if conf is not None else "N",
        ins=ins,
        ipp=ipp,
        family=family,
        given=given,
        birth=birth,
        sex=sex,
        author_xcn=_xcn(author, "auteur"),
        author_specialty=specialty,
        institution_xon=institution,
        legal_xcn=_xcn(
            _first(doc, "h:legalAuthenticator/h:assignedEntity"), "signataire (legalAuthenticator)"
        ),
        service_start=_cda_time(low.get("value", "")) if low is not None and low.get("value") else None,
        service_stop=_cda_time(high.get("value", "")) if high is not None and high.get("value") else None,
        facility=_code(
            _first(doc, "h:componentOf/h:encompassingEncounter/h:location/h:healthCareFacility/h:code"),
            "type d'établissement (healthCareFacility/code)",
        ),
        practice=_code(
            _first(
                doc,
                "h:documentationOf/h:serviceEvent/h:performer//h:standardIndustryClassCode",
                "h:legalAuthenticator//h:standardIndustryClassCode",
            ),
            "cadre d'exercice (standardIndustryClassCode)",
        ),
    )


# --- ebRIM element helpers --------------------------------------------------------------------


def _rim(parent: etree._Element, tag: str, **attrib: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{RIM}}}{tag}", attrib)


def _slot(parent: etree._Element, name: str, *values: str) -> None:
    vl = _rim(_rim(parent, "Slot", name=name), "ValueList")
    for v in values:
        _rim(vl, "Value").text = v


def _name(parent: etree._Element, text: str, tag: str = "Name") -> None:
    _rim(_rim(parent, tag), "LocalizedString", value=text)


class _Ids:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n:02d}"


def _coded(
    parent: etree._Element, ids: _Ids, scheme: str, obj: str, code: tuple[str, str, str]
) -> etree._Element:
    c = _rim(
        parent,
        "Classification",
        id=ids("cl"),
        classificationScheme=scheme,
        classifiedObject=obj,
        nodeRepresentation=code[0],
    )
    _slot(c, "codingScheme", code[1])
    _name(c, code[2] or code[0])
    return c


def _external_id(parent: etree._Element, ids: _Ids, scheme: str, obj: str, value: str, label: str) -> None:
    e = _rim(
        parent,
        "ExternalIdentifier",
        id=ids("ei"),
        registryObject=obj,
        identificationScheme=scheme,
        value=value,
    )
    _name(e, label)


def patient_cx(value: str, oid: str, kind: str) -> str:
    return f"{value}^^^&{oid}&ISO^{kind}"


def submit_objects_request(
    content: LetterContent,
    ids: DocumentIds,
    cda: bytes,
    replaces: str | None = None,
    *,
    xdm_uri: str | None = None,
    intended_recipients: Sequence[str] = (),
    submission_time: dt.datetime | None = None,
) -> etree._Element:
    """The `lcm:SubmitObjectsRequest` of one LDL-SES document in one submission set.

    - `replaces`: the replaced version, as its entryUUID (`urn:uuid:…`) or as its uniqueId (then
      `entry_uuid_for` gives the entryUUID Liaison used for it) → an RPLC association;
    - `xdm_uri`: for XDM, the CDA's file name in `SUBSET01` (adds the `URI` slot);
    - `intended_recipients`: MSSanté addresses, written as XCN/XON `|^^Internet^<address>` (XDM);
    - `submission_time`: defaults to now (a retry may pass the first attempt's time).
    hash (SHA-1) and size are always given: required in XDM, checked by the repository in ITI-41.
    """
    h = _read_header(cda)
    if h.unique_id != ids.unique_id:
        raise XdsMetadataError(
            f"L'identifiant du CDA ({h.unique_id}) ne correspond pas à celui de la lettre ({ids.unique_id})."
        )
    if h.ins and content.patient.identity_status == IdentityStatus.QUALIFIEE:
        patient_id = patient_cx(h.ins[0], h.ins[1], "NH")
    elif h.ipp:
        patient_id = patient_cx(h.ipp[0], h.ipp[1], "PI")
    elif h.ins:
        patient_id = patient_cx(h.ins[0], h.ins[1], "NH")
    else:
        raise XdsMetadataError("Le CDA n'identifie pas le patient (ni INS ni IPP) : métadonnées impossibles.")
    source_patient_id = patient_cx(h.ipp[0], h.ipp[1], "PI") if h.ipp else patient_id
    now = submission_time or dt.datetime.now(dt.UTC)
    entry = entry_uuid_for(ids.unique_id)
    ss = submission_set_uuid_for(ids.submission_set_unique_id)
    n = _Ids()

    root = etree.Element(f"{{{LCM}}}SubmitObjectsRequest", nsmap=NSMAP)
    objects = _rim(root, "RegistryObjectList")

    # DocumentEntry
    de = _rim(objects, "ExtrinsicObject", id=entry, mimeType="text/xml", objectType=DOCUMENT_ENTRY)
    _slot(de, "creationTime", xds_time(h.effective_time))
    _slot(de, "languageCode", LANGUAGE)
    if h.service_start:
        _slot(de, "serviceStartTime", xds_time(h.service_start))
    if h.service_stop:
        _slot(de, "serviceStopTime", xds_time(h.service_stop))
    _slot(de, "sourcePatientId", source_patient_id)
    info = [f"PID-5|{h.family}^{h.given}^^^^^L"]
    if h.birth:
        info.append(f"PID-7|{h.birth}")
    if h.sex:
        info.append(f"PID-8|{h.sex}")
    _slot(de, "sourcePatientInfo", *info)
    _slot(de, "legalAuthenticator", h.legal_xcn)
    _slot(de, "size", str(len(cda)))
    _slot(de, "hash", hashlib.sha1(cda).hexdigest())
    if xdm_uri:
        _slot(de, "URI", xdm_uri)
    _name(de, h.title or TYPE_CODE[2])
    author = _rim(de, "Classification", id=n("cl"), classificationScheme=DE_AUTHOR, classifiedObject=entry)
    author.set("nodeRepresentation", "")
    _slot(author, "authorPerson", h.author_xcn)
    _slot(author, "authorInstitution", h.institution_xon)
    if h.author_specialty:
        _slot(author, "authorSpecialty", h.author_specialty)
    _coded(de, n, DE_CLASS, entry, CLASS_CODE)
    conf = h.confidentiality
    _coded(
        de,
        n,
        DE_CONFIDENTIALITY,
        entry,
        (conf, CONFIDENTIALITY_SCHEME, CONFIDENTIALITY_LABELS.get(conf, conf)),
    )
    for attr, code, label in MASK_CODES:
        if getattr(content.confidentiality, attr):
            _coded(de, n, DE_CONFIDENTIALITY, entry, (code, VISIBILITY_SCHEME, label))
    _coded(de, n, DE_FORMAT, entry, FORMAT_CODE)
    _coded(de, n, DE_FACILITY, entry, h.facility)
    _coded(de, n, DE_PRACTICE, entry, h.practice)
    _coded(de, n, DE_TYPE, entry, TYPE_CODE)
    _external_id(de, n, DE_PATIENT_ID, entry, patient_id, "XDSDocumentEntry.patientId")
    _external_id(de, n, DE_UNIQUE_ID, entry, ids.unique_id, "XDSDocumentEntry.uniqueId")

    # SubmissionSet
    pkg = _rim(objects, "RegistryPackage", id=ss)
    _slot(pkg, "submissionTime", xds_time(now))
    if intended_recipients:
        _slot(pkg, "intendedRecipient", *(f"|^^Internet^{a}" for a in intended_recipients))
    _name(pkg, SUBMISSION_SET_TITLE)
    ss_author = _rim(pkg, "Classification", id=n("cl"), classificationScheme=SS_AUTHOR, classifiedObject=ss)
    ss_author.set("nodeRepresentation", "")
    _slot(ss_author, "authorPerson", h.author_xcn)
    _slot(ss_author, "authorInstitution", h.institution_xon)
    _coded(pkg, n, SS_CONTENT_TYPE, ss, CONTENT_TYPE_CODE)
    _external_id(pkg, n, SS_UNIQUE_ID, ss, ids.submission_set_unique_id, "XDSSubmissionSet.uniqueId")
    _external_id(pkg, n, SS_SOURCE_ID, ss, ids.source_id, "XDSSubmissionSet.sourceId")
    _external_id(pkg, n, SS_PATIENT_ID, ss, patient_id, "XDSSubmissionSet.patientId")
    _rim(objects, "Classification", id=n("cl"), classifiedObject=ss, classificationNode=SUBMISSION_SET)

    # Associations
    member = _rim(
        objects, "Association", id=n("as"), associationType=HAS_MEMBER, sourceObject=ss, targetObject=entry
    )
    _slot(member, "SubmissionSetStatus", "Original")
    if replaces:
        target = replaces if replaces.startswith("urn:uuid:") else entry_uuid_for(replaces)
        if target == entry:
            raise XdsMetadataError("Une version ne peut pas se remplacer elle-même.")
        _rim(
            objects, "Association", id=n("as"), associationType=RPLC, sourceObject=entry, targetObject=target
        )
    return root


def to_bytes(element: etree._Element) -> bytes:
    return etree.tostring(element, xml_declaration=True, encoding="UTF-8", pretty_print=True)
