"""Read an LDL-SES CDA that Liaison did not write, into `LetterContent` + `LetterFacts`.

Used to audit letters produced by another software (DPI) with the same QLS grids. The reader
prefers the structured entries (ORG-070/ORG-074 modalities, MED-142 to MED-148 and MED-309
observations, `substanceAdministration` lines, follow-up entries) and falls back to the
narrative text of each section. What a CDA cannot say (hand-over to the patient, sending to the
médecin traitant) stays empty in the facts: `audit_cda_files` lists those criteria as not
verifiable from the document.

The header is read here; each section is found through `cda.sections.REGISTRY` (by templateId,
else LOINC code) and read by its own module. No Django. lxml with entity resolution and network
access disabled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from liaison.core.content import (
    EstablishmentInfo,
    LetterContent,
    LetterFacts,
    PatientIdentity,
    Professional,
    Recipient,
    RecipientRole,
    Sector,
    Sex,
)
from liaison.documents.cda.reading import (
    NS,
    ReadState,
    attr,
    find_sections,
    first,
    node_text,
    parse_ts,
    xpath,
)
from liaison.documents.cda.sections import REGISTRY
from liaison.documents.xmlsafe import XmlInputError, parse_xml, read_xml_file
from liaison.quality.evaluate import evaluate
from liaison.quality.grid import load_grid

LDL_SES_CODE = "11490-0"
LDL_SES_TEMPLATE = "1.2.250.1.213.1.1.1.29"
OID_RPPS = "1.2.250.1.71.4.2.1"
OID_FINESS = "1.2.250.1.71.4.2.2"
INS_OIDS = {"1.2.250.1.213.1.4.8", "1.2.250.1.213.1.4.9", "1.2.250.1.213.1.4.10", "1.2.250.1.213.1.4.11"}

# TRE_G15 profession codes ("G15_10/SM27" = médecin, spécialité …).
PROFESSIONS = {"10": "medecin", "50": "sage_femme", "21": "pharmacien", "60": "infirmier"}


class CdaReadError(ValueError):
    """A file that is not a readable LDL-SES CDA; the message is in French."""


@dataclass
class CdaReading:
    content: LetterContent
    facts: LetterFacts
    notes: list[str] = field(default_factory=list)  # French: where the reader fell back to narrative
    # how the discharge treatment was read: entries | narrative_table | narrative_text |
    # narrative_none (the section says there is none) | empty (a section with nothing in it) |
    # absent (no such section)
    medication_source: str = "absent"


# --- the header ----------------------------------------------------------------------------------------


def _name_parts(name: Any | None) -> dict[str, str]:
    if name is None:
        return {}
    suffix = node_text(first(name, "cda:suffix")).upper()
    return {
        "family_name": node_text(first(name, "cda:family")),
        "given_name": node_text(first(name, "cda:given")),
        "title": {"DR": "Dr", "PR": "Pr"}.get(suffix, ""),
    }


def _addr(node: Any | None) -> str:
    if node is None or node.get("nullFlavor"):
        return ""
    return ", ".join(node_text(child) for child in node if isinstance(child.tag, str) and node_text(child))


def _phone(node: Any) -> str:
    for t in xpath(node, "cda:telecom/@value"):
        if t.startswith("tel:"):
            return t[4:]
    return ""


def _mssante(node: Any) -> str | None:
    for t in xpath(node, "cda:telecom/@value"):
        if t.startswith("mailto:"):
            return t[7:]
    return None


def _professional(entity: Any | None, person_tag: str, org_tag: str) -> Professional | None:
    """A Professional from an assignedEntity / associatedEntity / assignedAuthor element."""
    if entity is None:
        return None
    person = first(entity, f"cda:{person_tag}/cda:name")
    org = first(entity, f"cda:{org_tag}")
    rpps = next((i.get("extension") for i in xpath(entity, "cda:id") if i.get("root") == OID_RPPS), None)
    rpps = rpps[1:] if rpps and len(rpps) == 12 and rpps.startswith("8") else rpps
    code = attr(entity, "cda:code", "code")
    phone = _phone(entity) or (_phone(org) if org is not None else "")
    address = _addr(first(entity, "cda:addr")) or (_addr(first(org, "cda:addr")) if org is not None else "")
    p = Professional(
        rpps=rpps,
        **_name_parts(person),
        profession=PROFESSIONS.get(code.split("/")[0].removeprefix("G15_"), "") if code else "",
        specialty=attr(entity, "cda:code", "displayName"),
        organisation=node_text(first(org, "cda:name")) if org is not None else "",
        address=address,
        phone=phone,
        mssante=_mssante(entity),
    )
    return p if p.display_name or rpps else None


# --- the reader ----------------------------------------------------------------------------------------


def _parse(source: bytes | str | Path) -> Any:
    try:
        if isinstance(source, Path):
            root = read_xml_file(source, remove_comments=True)[1]
        else:
            data = source.encode() if isinstance(source, str) else source
            root = parse_xml(data, "Le document", remove_comments=True)
    except XmlInputError as exc:
        raise CdaReadError(str(exc)) from exc
    if root.tag != "{urn:hl7-org:v3}ClinicalDocument":
        raise CdaReadError(
            "Ce fichier n'est pas un document CDA (élément racine ClinicalDocument HL7 v3 absent)."
        )
    code = attr(root, "cda:code", "code")
    if code != LDL_SES_CODE:
        label = attr(root, "cda:code", "displayName") or "sans libellé"
        raise CdaReadError(
            f"Ce document n'est pas une lettre de liaison à la sortie : code {code or 'absent'} ({label}), "
            f"{LDL_SES_CODE} attendu."
        )
    if LDL_SES_TEMPLATE not in xpath(root, "cda:templateId/@root"):
        raise CdaReadError(
            f"Ce document n'est pas conforme au modèle LDL-SES : templateId {LDL_SES_TEMPLATE} absent."
        )
    return root


def _patient(doc: Any) -> PatientIdentity:
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
    values["address"] = _addr(first(role, "cda:addr"))
    values["phone"] = _phone(role)
    return PatientIdentity(**values)


def _establishment(doc: Any) -> EstablishmentInfo:
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
        address=_addr(first(org, "cda:addr")),
        phone=_phone(org),
        **facility,
    )


def read_cda(source: bytes | str | Path, sector: Sector = Sector.MCO) -> CdaReading:
    """Read an LDL-SES CDA (path, bytes or XML text). Raises `CdaReadError` in French.

    The header here; then each section of the registry, found by templateId or LOINC code, reads
    the fields it holds (ldl-ses-cda.md §2 order).
    """
    doc = _parse(source)
    state = ReadState(
        doc, LetterContent(sector=sector, patient=_patient(doc), establishment=_establishment(doc))
    )
    c = state.content

    # 1° people
    legal = first(doc, "cda:legalAuthenticator/cda:assignedEntity")
    author = first(doc, "cda:author/cda:assignedAuthor")
    signer = _professional(legal, "assignedPerson", "representedOrganization")
    author_p = _professional(author, "assignedPerson", "representedOrganization")
    c.responsible_physician = signer or author_p
    mt = first(doc, "cda:participant[@typeCode='INF'][cda:functionCode/@code='PCP']/cda:associatedEntity")
    c.medecin_traitant = _professional(mt, "associatedPerson", "scopingOrganization")
    ref = first(doc, "cda:participant[@typeCode='REF']/cda:associatedEntity")
    c.adresseur = _professional(ref, "associatedPerson", "scopingOrganization")
    recipients = []
    for r in xpath(doc, "cda:informationRecipient/cda:intendedRecipient"):
        prof = _professional(r, "informationRecipient", "receivedOrganization")
        if prof is None:
            continue
        is_mt = c.medecin_traitant is not None and prof.rpps and prof.rpps == c.medecin_traitant.rpps
        role = RecipientRole.MEDECIN_TRAITANT if is_mt else RecipientRole.AUTRE
        recipients.append(Recipient(role=role, name=prof.display_name, rpps=prof.rpps, mssante=prof.mssante))
    c.recipients = recipients

    # 1° dates
    span = first(doc, "cda:documentationOf/cda:serviceEvent/cda:effectiveTime")
    if span is None or not attr(span, "cda:high", "value"):
        span = first(doc, "cda:componentOf/cda:encompassingEncounter/cda:effectiveTime")
    if span is not None:
        c.admission_at = parse_ts(attr(span, "cda:low", "value"))
        c.discharge_at = parse_ts(attr(span, "cda:high", "value"))

    # 1° modalities to 6° follow-up: the sections
    found = find_sections(doc, REGISTRY)
    for section in REGISTRY:
        if section.read is not None:
            section.read(state, found.get(section.name))

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
    facts = LetterFacts(
        letter_id=letter_id,
        signed_at=parse_ts(attr(doc, "cda:legalAuthenticator/cda:time", "value")),
        signer_profession=signer_profession,
    )
    return CdaReading(c, facts, state.notes, state.medication_source)


# Facts a CDA cannot carry: the letter being in the patient's record, its hand-over, its sending.
# Criteria reading them are « non vérifiable sur le document ».
NOT_IN_CDA = {
    "facts.exists",
    "facts.handed_over_at",
    "facts.sent_to_medecin_traitant_at",
    "facts.sent_to_patient_mss_at",
}
NOT_VERIFIABLE_FR = "non vérifiable sur le document"


def audit_cda_files(
    paths: Iterable[str | Path], grid_id: str = "qls/mco/v2-2022", sector: Sector = Sector.MCO
) -> list[dict[str, Any]]:
    """Grade each CDA file with a grid; a bad file gives `error` and does not stop the batch.

    Per file: `file`, `criteria` {id: met | not_met | not_applicable | null}, null for the
    criteria a document cannot show (`not_verifiable`, each « non vérifiable sur le document »:
    found in the record, hand-over, sending); `compliant_on_content`, the verdict on what the
    document can show; `compliant`: false when the content fails, otherwise null (the record must
    say the rest); `problems` (French explanation + field, content only); `medication_source`
    (how the discharge treatment was read) and `notes`; or `file` and `error` (French reason).
    """
    grid = load_grid(grid_id)
    not_verifiable = [i.id for i in grid.items if NOT_IN_CDA & set(i.reads)]
    out: list[dict[str, Any]] = []
    for path in paths:
        path = Path(path)
        try:
            reading = read_cda(path, sector)
        except CdaReadError as exc:
            out.append({"file": str(path), "error": str(exc)})
            continue
        except Exception as exc:  # one bad file must not stop the batch
            out.append({"file": str(path), "error": f"Lecture impossible : {exc}"})
            continue
        e = evaluate(reading.content, reading.facts, grid)
        problems = [r for r in e.problems() if r.id not in not_verifiable]
        on_content = not problems
        out.append(
            {
                "file": str(path),
                "grid": {"id": grid.id, "version": grid.version, "sha256": grid.sha256},
                "letter_id": reading.facts.letter_id,
                "criteria": {r.id: None if r.id in not_verifiable else r.result.value for r in e.items},
                "compliant": None if on_content and not_verifiable else on_content,
                "compliant_on_content": on_content,
                "problems": [
                    {"criterion": r.id, "explanation": r.explanation, "field": r.field} for r in problems
                ],
                "not_verifiable": [
                    {"criterion": i, "explanation": NOT_VERIFIABLE_FR} for i in not_verifiable
                ],
                "medication_source": reading.medication_source,
                "notes": reading.notes,
            }
        )
    return out


__all__ = ["NS", "CdaReadError", "CdaReading", "audit_cda_files", "parse_ts", "read_cda"]
