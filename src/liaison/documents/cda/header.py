"""The CDA header of the letter: ids, codes, patient, author, custodian, recipients, legal
authenticator, médecin traitant, service event, replaced version, encounter (ldl-ses-cda.md §1)."""

from __future__ import annotations

from lxml import etree

from liaison.core.content import Professional, RecipientRole
from liaison.core.identifiers import OID_FINESS, OID_RPPS, idnat_ps, idnat_struct, patient_mssante_address
from liaison.documents.cda.checks import uses_ins
from liaison.documents.cda.codes import (
    ACT_CODE,
    CONFIDENTIALITY,
    CONFIDENTIALITY_LABELS,
    DOCUMENT_CODE,
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
from liaison.documents.cda.writer import Writer
from liaison.documents.cda.xml import el, hl7_date, tel, text_lines, ts


def write_header(w: Writer, doc: etree._Element) -> etree._Element:
    c, meta = w.c, w.meta
    el(doc, "realmCode", {"code": "FR"})
    el(doc, "typeId", {"root": "2.16.840.1.113883.1.3", "extension": "POCD_HD000040"})
    for root, ext in DOCUMENT_TEMPLATE_IDS:
        el(doc, "templateId", {"root": root, **({"extension": ext} if ext else {})})
    ii(w, doc, "id", meta.id)
    code, system, display = DOCUMENT_CODE
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
        el(role, "id", {"root": p.ins_oid, "extension": p.ins_matricule})
    if p.ipp and p.ipp_oid:
        el(role, "id", {"root": p.ipp_oid, "extension": p.ipp})
    addr(w, role, p.address)
    if p.phone:
        el(role, "telecom", {"value": tel(p.phone), "use": "H"})
    if uses_ins(w.c):
        el(role, "telecom", {"value": "mailto:" + patient_mssante_address(p.ins_matricule)})
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
    el(patient, "birthTime", {"value": hl7_date(p.birth_date)})
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
    el(parent, "id", {"root": OID_RPPS, "extension": idnat_ps(pro.rpps)})
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
        el(entity, "id", {"root": OID_RPPS, "extension": idnat_ps(pro.rpps)})
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
    el(period, "low", {"value": ts(c.admission_at)})
    el(period, "high", {"value": ts(c.discharge_at)})
    performer = el(event, "performer", {"typeCode": "PRF"})
    entity = el(performer, "assignedEntity")
    pro = (
        c.responsible_physician if c.responsible_physician and c.responsible_physician.rpps else w.meta.author
    )
    el(entity, "id", {"root": OID_RPPS, "extension": idnat_ps(pro.rpps)})
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
    el(period, "low", {"value": ts(w.c.admission_at)})
    el(period, "high", {"value": ts(w.c.discharge_at)})
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
