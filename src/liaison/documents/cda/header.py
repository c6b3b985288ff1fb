"""The CDA header of the letter: ids, codes, patient, author, custodian, recipients, legal
authenticator, médecin traitant, service event, replaced version, encounter (ldl-ses-cda.md §1).

Written by `write_header`; read back (also from a CDA another software wrote) by `read_header`
and `read_facts`."""

from __future__ import annotations

from typing import Any, TypedDict

from lxml import etree

from liaison.core.codes import LDL_SES_DOCUMENT_CODE
from liaison.core.content import (
    EstablishmentInfo,
    LetterFacts,
    PatientIdentity,
    Professional,
    Recipient,
    RecipientRole,
    Sex,
)
from liaison.core.identifiers import (
    INS_OIDS,
    OID_FINESS,
    OID_RPPS,
    idnat_ps,
    idnat_struct,
    patient_mssante_address,
)
from liaison.documents.cda.checks import uses_ins
from liaison.documents.cda.codes import (
    ACT_CODE,
    CONFIDENTIALITY,
    CONFIDENTIALITY_LABELS,
    DOCUMENT_TEMPLATE_IDS,
    DOCUMENT_TITLE,
    FACILITY_TYPE,
    GENDER,
    GENDER_LABELS,
    PARTICIPATION_FUNCTION,
    PRACTICE_SETTING,
    PROFESSION,
    PROFESSION_CODES,
    TITLE_CODES,
)
from liaison.documents.cda.model import DocumentId
from liaison.documents.cda.reading import ReadState, attr, first, node_text, parse_ts, strings, xpath
from liaison.documents.cda.writer import Writer, required
from liaison.documents.cda.xml import el, hl7_date, tel, text_lines, ts


def write_header(w: Writer, doc: etree._Element) -> None:
    c, meta = w.c, w.meta
    el(doc, "realmCode", {"code": "FR"})
    el(doc, "typeId", {"root": "2.16.840.1.113883.1.3", "extension": "POCD_HD000040"})
    for root, ext in DOCUMENT_TEMPLATE_IDS:
        el(doc, "templateId", {"root": root, **({"extension": ext} if ext else {})})
    ii(w, doc, "id", meta.id)
    code, system, display = LDL_SES_DOCUMENT_CODE
    el(
        doc,
        "code",
        {"code": code, "codeSystem": system, "codeSystemName": "LOINC", "displayName": display},
    )
    el(doc, "title", text=DOCUMENT_TITLE)
    el(doc, "effectiveTime", {"value": ts(meta.effective_time)})
    el(
        doc,
        "confidentialityCode",
        {
            "code": meta.confidentiality_code,
            "codeSystem": CONFIDENTIALITY,
            "displayName": CONFIDENTIALITY_LABELS[meta.confidentiality_code],
        },
    )
    el(doc, "languageCode", {"code": "fr-FR"})
    ii(w, doc, "setId", meta.set_id)
    el(doc, "versionNumber", {"value": str(meta.version_number)})
    record_target(w, doc)
    author = el(doc, "author")
    el(author, "time", {"value": ts(meta.effective_time)})
    assigned = el(author, "assignedAuthor", {"classCode": "ASSIGNED"})
    professional(w, assigned, meta.author, "assignedPerson")
    organisation(w, assigned, "representedOrganization")
    custodian = el(el(doc, "custodian", {"typeCode": "CST"}), "assignedCustodian")
    organisation(w, custodian, "representedCustodianOrganization")
    recipients(w, doc)
    legal = el(doc, "legalAuthenticator")
    el(legal, "time", {"value": ts(meta.signed_at)})
    el(legal, "signatureCode", {"code": "S"})
    entity = el(legal, "assignedEntity")
    professional(w, entity, meta.author, "assignedPerson")
    organisation(w, entity, "representedOrganization", industry=True)
    if c.medecin_traitant is not None:
        participant(w, doc, c.medecin_traitant)
    service_event(w, doc)
    if meta.replaces is not None:
        related = el(doc, "relatedDocument", {"typeCode": "RPLC"})
        ii(w, el(related, "parentDocument"), "id", meta.replaces)
    encounter(w, doc)


def ii(w: Writer, parent: etree._Element, tag: str, value: DocumentId) -> None:
    el(parent, tag, {"root": value.root, **({"extension": value.extension} if value.extension else {})})


def record_target(w: Writer, doc: etree._Element) -> None:
    p = w.c.patient
    role = el(el(doc, "recordTarget"), "patientRole")
    if uses_ins(w.c):
        ins = {
            "root": required(p.ins_oid, "patient.ins_oid"),
            "extension": required(p.ins_matricule, "patient.ins_matricule"),
        }
        el(role, "id", ins)
    if p.ipp and p.ipp_oid:
        el(role, "id", {"root": p.ipp_oid, "extension": p.ipp})
    addr(w, role, p.address)
    if p.phone:
        el(role, "telecom", {"value": tel(p.phone), "use": "H"})
    if uses_ins(w.c):
        mailbox = patient_mssante_address(required(p.ins_matricule, "patient.ins_matricule"))
        el(role, "telecom", {"value": "mailto:" + mailbox})
    patient = el(role, "patient", {"classCode": "PSN"})
    name = el(patient, "name")
    el(name, "family", {"qualifier": "BR"}, p.birth_family_name)
    el(name, "given", text=p.given_names or p.first_given_name)
    el(name, "given", {"qualifier": "BR"}, p.first_given_name)
    el(name, "family", {"qualifier": "CL"}, p.used_family_name or p.birth_family_name)
    el(name, "given", {"qualifier": "CL"}, p.used_given_name or p.first_given_name)
    el(
        patient,
        "administrativeGenderCode",
        {"code": p.sex.value, "codeSystem": GENDER, "displayName": GENDER_LABELS[p.sex]},
    )
    el(patient, "birthTime", {"value": hl7_date(required(p.birth_date, "patient.birth_date"))})
    if p.birth_place_cog:
        el(el(el(el(patient, "birthplace"), "place"), "addr"), "county", text=p.birth_place_cog)


def addr(w: Writer, parent: etree._Element, address: str) -> None:
    if address.strip():
        addr = el(parent, "addr")
        for line in text_lines(address.replace(",", "\n")):
            el(addr, "streetAddressLine", text=line)


def person_name(w: Writer, parent: etree._Element, pro: Professional) -> None:
    name = el(parent, "name")
    if pro.given_name:
        el(name, "given", text=pro.given_name)
    el(name, "family", text=pro.family_name or pro.display_name)
    title = TITLE_CODES.get(pro.title.strip(" .").lower())
    if title:  # JDV_J246_Titre_CISIS goes in <suffix>; <prefix> is for the civilité (M, MME)
        el(name, "suffix", text=title)


def profession_code(w: Writer, parent: etree._Element, pro: Professional) -> None:
    key = pro.profession.lower().replace("-", "_").replace("é", "e").replace(" ", "_") or "medecin"
    if key in PROFESSION_CODES:
        code, display = PROFESSION_CODES[key]
        el(parent, "code", {"code": code, "codeSystem": PROFESSION, "displayName": display})


def professional(w: Writer, parent: etree._Element, pro: Professional, person_tag: str) -> None:
    el(parent, "id", {"root": OID_RPPS, "extension": idnat_ps(required(pro.rpps, "rpps"))})
    profession_code(w, parent, pro)
    addr(w, parent, pro.address)
    if pro.phone:
        el(parent, "telecom", {"value": tel(pro.phone), "use": "WP"})
    person_name(w, el(parent, person_tag), pro)


def organisation(w: Writer, parent: etree._Element, tag: str, industry: bool = False) -> None:
    e = w.c.establishment
    org = el(parent, tag)
    el(org, "id", {"root": OID_FINESS, "extension": idnat_struct(e.finess_eg or e.finess_ej)})
    el(org, "name", text=e.name)
    if e.phone:
        el(org, "telecom", {"value": tel(e.phone), "use": "WP"})
    addr(w, org, e.address)
    if industry:
        el(
            org,
            "standardIndustryClassCode",
            {
                "code": "ETABLISSEMENT",
                "codeSystem": PRACTICE_SETTING,
                "displayName": "Etablissement de santé",
            },
        )


def recipients(w: Writer, doc: etree._Element) -> None:
    for r in w.c.recipients:
        if r.role == RecipientRole.PATIENT:
            continue  # the patient is the recordTarget
        intended = el(el(doc, "informationRecipient"), "intendedRecipient")
        if r.rpps:
            el(intended, "id", {"root": OID_RPPS, "extension": idnat_ps(r.rpps)})
        if r.mssante:
            el(intended, "telecom", {"value": f"mailto:{r.mssante}"})
        if r.name:
            person = el(intended, "informationRecipient")
            el(el(person, "name"), "family", text=r.name)


def participant(w: Writer, doc: etree._Element, pro: Professional) -> None:
    part = el(doc, "participant", {"typeCode": "INF"})
    el(
        part,
        "functionCode",
        {"code": "PCP", "codeSystem": PARTICIPATION_FUNCTION, "displayName": "Médecin traitant"},
    )
    el(part, "time", {"nullFlavor": "NA"})
    entity = el(part, "associatedEntity", {"classCode": "PROV"})
    if pro.rpps:
        el(entity, "id", {"root": OID_RPPS, "extension": idnat_ps(required(pro.rpps, "rpps"))})
    profession_code(w, entity, pro)
    addr(w, entity, pro.address)
    if pro.phone:
        el(entity, "telecom", {"value": tel(pro.phone), "use": "WP"})
    if pro.mssante:
        el(entity, "telecom", {"value": f"mailto:{pro.mssante}"})
    person_name(w, el(entity, "associatedPerson"), pro)


def service_event(w: Writer, doc: etree._Element) -> None:
    c = w.c
    event = el(
        el(doc, "documentationOf", {"typeCode": "DOC"}),
        "serviceEvent",
        {"classCode": "ACT", "moodCode": "EVN"},
    )
    el(
        event,
        "code",
        {
            "code": "IMP",
            "codeSystem": ACT_CODE,
            "codeSystemName": "HL7:ActCode",
            "displayName": "Hospitalisation",
        },
    )
    period = el(event, "effectiveTime")
    el(period, "low", {"value": ts(required(c.admission_at, "admission_at"))})
    el(period, "high", {"value": ts(required(c.discharge_at, "discharge_at"))})
    performer = el(event, "performer", {"typeCode": "PRF"})
    entity = el(performer, "assignedEntity")
    pro = (
        c.responsible_physician if c.responsible_physician and c.responsible_physician.rpps else w.meta.author
    )
    el(entity, "id", {"root": OID_RPPS, "extension": idnat_ps(required(pro.rpps, "rpps"))})
    profession_code(w, entity, pro)
    person_name(w, el(entity, "assignedPerson"), pro)
    org = el(entity, "representedOrganization")
    el(org, "name", text=c.establishment.unit_name or c.establishment.name)
    el(
        org,
        "standardIndustryClassCode",
        {
            "code": "ETABLISSEMENT",
            "codeSystem": PRACTICE_SETTING,
            "displayName": "Etablissement de santé",
        },
    )


def encounter(w: Writer, doc: etree._Element) -> None:
    enc = el(el(doc, "componentOf"), "encompassingEncounter")
    period = el(enc, "effectiveTime")
    el(period, "low", {"value": ts(required(w.c.admission_at, "admission_at"))})
    el(period, "high", {"value": ts(required(w.c.discharge_at, "discharge_at"))})
    e = w.c.establishment
    el(
        el(el(enc, "location"), "healthCareFacility"),
        "code",
        {
            "code": e.facility_type_code,
            "codeSystem": FACILITY_TYPE,
            "displayName": e.facility_type_label.strip(),
        },
    )


# --- reading --------------------------------------------------------------------------------------

# TRE_G15 profession codes ("G15_10/SM27" = médecin, spécialité …).
PROFESSIONS = {"10": "medecin", "50": "sage_femme", "21": "pharmacien", "60": "infirmier"}


class _NameParts(TypedDict, total=False):
    family_name: str
    given_name: str
    title: str


def _name_parts(name: etree._Element | None) -> _NameParts:
    if name is None:
        return {}
    suffix = node_text(first(name, "cda:suffix")).upper()
    return {
        "family_name": node_text(first(name, "cda:family")),
        "given_name": node_text(first(name, "cda:given")),
        "title": {"DR": "Dr", "PR": "Pr"}.get(suffix, ""),
    }


def _read_addr(node: etree._Element | None) -> str:
    if node is None or node.get("nullFlavor"):
        return ""
    return ", ".join(node_text(child) for child in node if isinstance(child.tag, str) and node_text(child))


def _read_phone(node: etree._Element) -> str:
    for t in strings(node, "cda:telecom/@value"):
        if t.startswith("tel:"):
            return t[4:]
    return ""


def _read_mssante(node: etree._Element) -> str | None:
    for t in strings(node, "cda:telecom/@value"):
        if t.startswith("mailto:"):
            return t[7:]
    return None


def _read_professional(entity: etree._Element | None, person_tag: str, org_tag: str) -> Professional | None:
    """A Professional from an assignedEntity / associatedEntity / assignedAuthor element."""
    if entity is None:
        return None
    person = first(entity, f"cda:{person_tag}/cda:name")
    org = first(entity, f"cda:{org_tag}")
    rpps = next((i.get("extension") for i in xpath(entity, "cda:id") if i.get("root") == OID_RPPS), None)
    rpps = rpps[1:] if rpps and len(rpps) == 12 and rpps.startswith("8") else rpps
    code = attr(entity, "cda:code", "code")
    phone = _read_phone(entity) or (_read_phone(org) if org is not None else "")
    address = _read_addr(first(entity, "cda:addr")) or (
        _read_addr(first(org, "cda:addr")) if org is not None else ""
    )
    p = Professional(
        rpps=rpps,
        **_name_parts(person),
        profession=PROFESSIONS.get(code.split("/")[0].removeprefix("G15_"), "") if code else "",
        specialty=attr(entity, "cda:code", "displayName"),
        organisation=node_text(first(org, "cda:name")) if org is not None else "",
        address=address,
        phone=phone,
        mssante=_read_mssante(entity),
    )
    return p if p.display_name or rpps else None


def _read_patient(doc: etree._Element) -> PatientIdentity:
    role = first(doc, "cda:recordTarget/cda:patientRole")
    if role is None:
        return PatientIdentity()
    values: dict[str, Any] = {}
    for i in xpath(role, "cda:id"):
        root, ext = i.get("root", ""), i.get("extension", "")
        if root in INS_OIDS and "ins_matricule" not in values:
            values.update(ins_matricule=ext, ins_oid=root)
        elif ext and "ipp" not in values:
            values.update(ipp=ext, ipp_oid=root)
    patient = first(role, "cda:patient")
    name = first(patient, "cda:name") if patient is not None else None
    if name is not None:
        fam = {f.get("qualifier", ""): node_text(f) for f in xpath(name, "cda:family")}
        giv = {g.get("qualifier", ""): node_text(g) for g in xpath(name, "cda:given")}
        values["birth_family_name"] = fam.get("BR") or fam.get("") or next(iter(fam.values()), "")
        values["used_family_name"] = fam.get("CL", "")
        values["given_names"] = giv.get("", "")
        first_given = giv.get("BR") or (giv.get("") or next(iter(giv.values()), "")).split(" ")[0]
        values["first_given_name"] = first_given
        values["used_given_name"] = giv.get("CL", "")
    if patient is not None:
        birth = parse_ts(attr(patient, "cda:birthTime", "value"))
        values["birth_date"] = birth.date() if birth else None
        values["sex"] = {"M": Sex.M, "F": Sex.F}.get(
            attr(patient, "cda:administrativeGenderCode", "code"), Sex.U
        )
        values["birth_place_cog"] = (
            node_text(first(patient, "cda:birthplace/cda:place/cda:addr/cda:county")) or None
        )
    values["address"] = _read_addr(first(role, "cda:addr"))
    values["phone"] = _read_phone(role)
    return PatientIdentity(**values)


def _read_establishment(doc: etree._Element) -> EstablishmentInfo:
    org = first(doc, "cda:custodian/cda:assignedCustodian/cda:representedCustodianOrganization")
    unit = node_text(
        first(doc, "cda:documentationOf/cda:serviceEvent/cda:performer//cda:representedOrganization/cda:name")
    )
    facility: dict[str, str] = {}
    code = first(
        doc, "cda:componentOf/cda:encompassingEncounter/cda:location/cda:healthCareFacility/cda:code"
    )
    if code is not None and code.get("code"):  # absent: EstablishmentInfo's default type is kept
        facility["facility_type_code"] = code.get("code", "").strip()
        facility["facility_type_label"] = (code.get("displayName") or "").strip()  # never the default's
    if org is None:
        return EstablishmentInfo(unit_name=unit, **facility)
    finess = next((i.get("extension", "") for i in xpath(org, "cda:id") if i.get("root") == OID_FINESS), "")
    finess = finess[1:] if len(finess) == 10 and finess.startswith("1") else finess
    return EstablishmentInfo(
        finess_eg=finess,
        name=node_text(first(org, "cda:name")),
        unit_name=unit,
        address=_read_addr(first(org, "cda:addr")),
        phone=_read_phone(org),
        **facility,
    )


def read_header(s: ReadState) -> None:
    """The patient, the establishment, the people (signer or author, médecin traitant, adresseur,
    recipients) and the stay's dates, into the content being read."""
    doc, c = s.doc, s.content
    c.patient = _read_patient(doc)
    c.establishment = _read_establishment(doc)
    legal = first(doc, "cda:legalAuthenticator/cda:assignedEntity")
    author = first(doc, "cda:author/cda:assignedAuthor")
    signer = _read_professional(legal, "assignedPerson", "representedOrganization")
    c.responsible_physician = signer or _read_professional(
        author, "assignedPerson", "representedOrganization"
    )
    mt = first(doc, "cda:participant[@typeCode='INF'][cda:functionCode/@code='PCP']/cda:associatedEntity")
    c.medecin_traitant = _read_professional(mt, "associatedPerson", "scopingOrganization")
    ref = first(doc, "cda:participant[@typeCode='REF']/cda:associatedEntity")
    c.adresseur = _read_professional(ref, "associatedPerson", "scopingOrganization")
    recipients = []
    for r in xpath(doc, "cda:informationRecipient/cda:intendedRecipient"):
        prof = _read_professional(r, "informationRecipient", "receivedOrganization")
        if prof is None:
            continue
        is_mt = c.medecin_traitant is not None and prof.rpps and prof.rpps == c.medecin_traitant.rpps
        role = RecipientRole.MEDECIN_TRAITANT if is_mt else RecipientRole.AUTRE
        recipients.append(Recipient(role=role, name=prof.display_name, rpps=prof.rpps, mssante=prof.mssante))
    c.recipients = recipients

    span = first(doc, "cda:documentationOf/cda:serviceEvent/cda:effectiveTime")
    if span is None or not attr(span, "cda:high", "value"):
        span = first(doc, "cda:componentOf/cda:encompassingEncounter/cda:effectiveTime")
    if span is not None:
        c.admission_at = parse_ts(attr(span, "cda:low", "value"))
        c.discharge_at = parse_ts(attr(span, "cda:high", "value"))


def read_facts(doc: etree._Element) -> LetterFacts:
    """What the header says about the letter itself: its id, its signature time, the signer's profession."""
    legal = first(doc, "cda:legalAuthenticator/cda:assignedEntity")
    author = first(doc, "cda:author/cda:assignedAuthor")
    signer = _read_professional(legal, "assignedPerson", "representedOrganization")
    author_p = _read_professional(author, "assignedPerson", "representedOrganization")
    doc_id = first(doc, "cda:id")
    letter_id = None
    if doc_id is not None:
        letter_id = ".".join(p for p in (doc_id.get("root"), doc_id.get("extension")) if p) or None
    legal_code = attr(legal, "cda:code", "code") if legal is not None else ""
    signer_profession = PROFESSIONS.get(legal_code.split("/")[0].removeprefix("G15_")) if legal_code else None
    if (
        signer_profession is None
        and signer is not None
        and author_p is not None
        and signer.rpps == author_p.rpps
    ):
        signer_profession = author_p.profession or None  # same RPPS as the author, whose code is given
    return LetterFacts(
        letter_id=letter_id,
        signed_at=parse_ts(attr(doc, "cda:legalAuthenticator/cda:time", "value")),
        signer_profession=signer_profession,
    )
