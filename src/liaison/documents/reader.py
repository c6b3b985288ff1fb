"""Read an LDL-SES CDA that Liaison did not write, into `LetterContent` + `LetterFacts`.

Used to audit letters produced by another software (DPI) with the same QLS grids. The reader
prefers the structured entries (ORG-070/ORG-074 modalities, MED-142 to MED-148 and MED-309
observations, `substanceAdministration` lines, follow-up entries) and falls back to the
narrative text of each section. What a CDA cannot say (hand-over to the patient, sending to the
médecin traitant) stays empty in the facts: `audit_cda_files` lists those criteria as not
verifiable from the document.

No Django. lxml with entity resolution and network access disabled.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from liaison.core.content import (
    ENTRY_MODE_CODES,
    EXIT_MODE_CODES,
    EntryMode,
    EstablishmentInfo,
    ExitMode,
    FollowUpItem,
    FollowUpKind,
    ImplantedDevice,
    LetterContent,
    LetterFacts,
    MedicationLine,
    MedicationStatus,
    PatientIdentity,
    PendingResult,
    Presence,
    Professional,
    Recipient,
    RecipientRole,
    Sector,
    Sex,
)
from liaison.documents.xmlsafe import XmlInputError, parse_xml, read_xml_file
from liaison.quality.evaluate import evaluate
from liaison.quality.grid import load_grid
from liaison.quality.rules import PARIS, says_none

NS = {"cda": "urn:hl7-org:v3", "xsi": "http://www.w3.org/2001/XMLSchema-instance"}
LDL_SES_CODE = "11490-0"
LDL_SES_TEMPLATE = "1.2.250.1.213.1.1.1.29"
OID_RPPS = "1.2.250.1.71.4.2.1"
OID_FINESS = "1.2.250.1.71.4.2.2"
OID_CIS = "1.2.250.1.213.2.3.1"
OID_ATC = "2.16.840.1.113883.6.73"
INS_OIDS = {"1.2.250.1.213.1.4.8", "1.2.250.1.213.1.4.9", "1.2.250.1.213.1.4.10", "1.2.250.1.213.1.4.11"}

# Section templateIds the rules key on (ldl-ses-cda.md §2).
SEC_REASON = "1.3.6.1.4.1.19376.1.5.3.1.3.1"
SEC_SUMMARY = "1.3.6.1.4.1.19376.1.7.3.1.1.13.7"
SEC_ADMINISTERED = "1.3.6.1.4.1.19376.1.5.3.1.3.21"
SEC_DISCHARGE_MEDS = "1.3.6.1.4.1.19376.1.5.3.1.3.22"
SEC_RESULTS = "1.3.6.1.4.1.19376.1.5.3.1.3.27"
SEC_CARE_PLAN = "1.3.6.1.4.1.19376.1.5.3.1.3.36"
SEC_DEVICES = "1.2.250.1.213.1.1.2.1"
SEC_ALLERGIES = "1.3.6.1.4.1.19376.1.5.3.1.3.13"
LOINC = "2.16.840.1.113883.6.1"
# A section without the templateId the rules key on is still found by its LOINC code; never by
# its title, which each software words its own way.
SECTION_LOINC = {
    "42349-1": SEC_REASON,
    "42545-4": SEC_SUMMARY,
    "18610-6": SEC_ADMINISTERED,
    "10183-2": SEC_DISCHARGE_MEDS,
    "30954-2": SEC_RESULTS,
    "18776-5": SEC_CARE_PLAN,
    "46264-8": SEC_DEVICES,
    "48765-2": SEC_ALLERGIES,
}

# TRE_G15 profession codes ("G15_10/SM27" = médecin, spécialité …).
PROFESSIONS = {"10": "medecin", "50": "sage_femme", "21": "pharmacien", "60": "infirmier"}
_PHONE = re.compile(r"(?:\+33\s?|0)[1-9](?:[\s.-]?\d{2}){4}")


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


# --- small XML helpers -----------------------------------------------------------------------------


def _x(node: Any, path: str) -> list[Any]:
    return node.xpath(path, namespaces=NS)


def _first(node: Any, path: str) -> Any | None:
    found = _x(node, path)
    return found[0] if found else None


def _text(node: Any | None) -> str:
    """Normalised text of a node and its descendants (narrative blocks included)."""
    if node is None:
        return ""
    if isinstance(node, str):
        return " ".join(node.split())
    return " ".join(" ".join(node.itertext()).split())


def _attr(node: Any, path: str, name: str) -> str:
    found = _first(node, path)
    return (found.get(name) or "").strip() if found is not None else ""


def parse_ts(value: str | None) -> dt.datetime | None:
    """HL7 TS (`aaaa[mm[jj[hh[mm[ss]]]]][±zzzz]`) → aware datetime; no offset = Europe/Paris."""
    if not value:
        return None
    m = re.fullmatch(r"(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d+)?([+-]\d{4})?", value.strip())
    if not m:
        return None
    year, month, day, hour, minute, second, offset = m.groups()
    try:
        moment = dt.datetime(
            int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0), int(second or 0)
        )
    except ValueError:
        return None
    if offset:
        sign = 1 if offset[0] == "+" else -1
        delta = dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5]))
        return moment.replace(tzinfo=dt.timezone(sign * delta))
    return moment.replace(tzinfo=PARIS)


def _name_parts(name: Any | None) -> dict[str, str]:
    if name is None:
        return {}
    suffix = _text(_first(name, "cda:suffix")).upper()
    return {
        "family_name": _text(_first(name, "cda:family")),
        "given_name": _text(_first(name, "cda:given")),
        "title": {"DR": "Dr", "PR": "Pr"}.get(suffix, ""),
    }


def _addr(node: Any | None) -> str:
    if node is None or node.get("nullFlavor"):
        return ""
    return ", ".join(_text(child) for child in node if isinstance(child.tag, str) and _text(child))


def _phone(node: Any) -> str:
    for t in _x(node, "cda:telecom/@value"):
        if t.startswith("tel:"):
            return t[4:]
    return ""


def _mssante(node: Any) -> str | None:
    for t in _x(node, "cda:telecom/@value"):
        if t.startswith("mailto:"):
            return t[7:]
    return None


def _professional(entity: Any | None, person_tag: str, org_tag: str) -> Professional | None:
    """A Professional from an assignedEntity / associatedEntity / assignedAuthor element."""
    if entity is None:
        return None
    person = _first(entity, f"cda:{person_tag}/cda:name")
    org = _first(entity, f"cda:{org_tag}")
    rpps = next((i.get("extension") for i in _x(entity, "cda:id") if i.get("root") == OID_RPPS), None)
    rpps = rpps[1:] if rpps and len(rpps) == 12 and rpps.startswith("8") else rpps
    code = _attr(entity, "cda:code", "code")
    phone = _phone(entity) or (_phone(org) if org is not None else "")
    address = _addr(_first(entity, "cda:addr")) or (_addr(_first(org, "cda:addr")) if org is not None else "")
    p = Professional(
        rpps=rpps,
        **_name_parts(person),
        profession=PROFESSIONS.get(code.split("/")[0].removeprefix("G15_"), "") if code else "",
        specialty=_attr(entity, "cda:code", "displayName"),
        organisation=_text(_first(org, "cda:name")) if org is not None else "",
        address=address,
        phone=phone,
        mssante=_mssante(entity),
    )
    return p if p.display_name or rpps else None


def _sections(doc: Any) -> dict[str, Any]:
    """Sections (at any depth) by templateId, then by LOINC code for those still missing."""
    out: dict[str, Any] = {}
    sections = _x(doc, "//cda:structuredBody//cda:section")
    for section in sections:
        for root in _x(section, "cda:templateId/@root"):
            out.setdefault(root, section)
    for section in sections:
        code = _first(section, "cda:code")
        if code is not None and code.get("codeSystem", LOINC) == LOINC:
            key = SECTION_LOINC.get((code.get("code") or "").strip())
            if key:
                out.setdefault(key, section)
    return out


def _referenced_text(doc: Any, ref: str | None) -> str:
    """Text of the narrative element whose ID the entry's `text/reference` points to."""
    if not ref:
        return ""
    target = _first(doc, f"//*[@ID='{ref.lstrip('#')}']") if re.fullmatch(r"#?[\w.\-]+", ref) else None
    return _text(target)


def _observations(section: Any | None) -> dict[str, Any]:
    if section is None:
        return {}
    return {_attr(o, "cda:code", "code"): o for o in _x(section, "cda:entry/cda:observation")}


def _obs_text(doc: Any, obs: Any | None) -> str:
    if obs is None:
        return ""
    value = _first(obs, "cda:value")
    text = _text(value) if value is not None else ""
    return text or _referenced_text(doc, _attr(obs, "cda:text/cda:reference", "value"))


def _obs_bool(obs: Any | None) -> bool | None:
    """A BL value; None when the entry is absent, has a nullFlavor or an unreadable value."""
    value = _attr(obs, "cda:value", "value").lower() if obs is not None else ""
    return {"true": True, "false": False}.get(value)


def _obs_detail(doc: Any, obs: Any | None) -> str:
    """An optional ST detail entry (MED-146, MED-148); "" when absent or saying "aucun"."""
    text = _obs_text(doc, obs)
    return "" if not text or says_none(text) else text


def _presence_from_text(text: str) -> Presence:
    if not text:
        return Presence()
    if says_none(text):
        return Presence(present=False)
    return Presence(present=True, details=text)


def _mode(obs: Any | None, codes: dict[Any, tuple[str, str, str]]) -> Any | None:
    """Map a coded modality back through ENTRY_MODE_CODES / EXIT_MODE_CODES (first match wins)."""
    if obs is None:
        return None
    code, system = _attr(obs, "cda:value", "code"), _attr(obs, "cda:value", "codeSystem")
    for mode, (c, s, _label) in codes.items():
        if c == code and (not system or s == system):
            return mode
    return None


_ENTRY_WORDS = {
    "urgence": EntryMode.URGENCE,
    "programm": EntryMode.PROGRAMMEE,
    "transfert": EntryMode.TRANSFERT,
}
_EXIT_WORDS = {
    "domicile": ExitMode.DOMICILE,
    "had": ExitMode.HAD,
    "ehpad": ExitMode.EHPAD,
    "ssr": ExitMode.SMR,
    "smr": ExitMode.SMR,
    "décès": ExitMode.DECES,
    "deces": ExitMode.DECES,
    "établissement": ExitMode.AUTRE_ES,
}


def _mode_from_words(text: str, words: dict[str, Any]) -> Any | None:
    lowered = text.lower()
    return next((mode for word, mode in words.items() if re.search(rf"\b{word}", lowered)), None)


# --- medications -------------------------------------------------------------------------------------


# Narrative medication table columns, recognised by their header (accents and case ignored).
_COLUMNS = {
    "medicine": ("medicament", "traitement", "specialite", "dci", "produit", "molecule"),
    "dose": ("dose", "posologie"),
    "frequency": ("frequence", "rythme"),
    "duration": ("duree",),
    "start": ("date de debut", "debut"),
    "end": ("date de fin", "fin"),
    "route": ("voie",),
    "comment": ("commentaire", "remarque"),
}


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode().strip()


def _column(header: str) -> str | None:
    h = _fold(header)
    if h.startswith(("dose max", "rythme admin")):  # the ANS table's extra columns, not the dosage
        return None
    for key, words in _COLUMNS.items():
        if any(h == w or h.startswith(w) for w in words):
            return key
    return None


def _table_lines(table: Any) -> list[dict[str, str]]:
    """The rows of a narrative table as {column key: cell text}, columns found by their header."""
    headers = [_text(th) for th in _x(table, "cda:thead/cda:tr/cda:th")]
    rows = _x(table, "cda:tbody/cda:tr") or _x(table, "cda:tr")
    if not headers and rows and _x(rows[0], "cda:th"):
        headers, rows = [_text(th) for th in _x(rows[0], "cda:th")], rows[1:]
    keys = [_column(h) for h in headers]
    out = []
    for row in rows:
        cells = [_text(td) for td in _x(row, "cda:td")]
        line: dict[str, str] = {}
        for key, cell in zip(keys, cells, strict=False):
            if key and cell:
                line[key] = f"{line[key]}, {cell}" if key in line else cell
        if any(line.values()):
            out.append(line)
    return out


def _medications_from_table(section: Any) -> list[MedicationLine] | None:
    """Discharge treatment given only as a narrative table: None when no table names medicines."""
    for table in _x(section, "cda:text//cda:table"):
        lines = [x for x in _table_lines(table) if x.get("medicine")]
        if not lines:
            continue
        out = []
        for x in lines:
            start, end = x.get("start", ""), x.get("end", "")
            duration = x.get("duration") or (
                f"du {start} au {end}" if start and end else f"jusqu'au {end}" if end else ""
            )
            out.append(
                MedicationLine(
                    medicine=x["medicine"],
                    dosage=", ".join(v for v in (x.get("dose", ""), x.get("frequency", "")) if v),
                    duration=duration,
                    route=x.get("route", ""),
                    comment=x.get("comment", ""),
                    status=_status_from(x.get("comment", "")),
                )
            )
        return out
    return None


def _row_cells(doc: Any, ref: str | None) -> dict[str, str]:
    """The narrative table row holding the referenced drug, as {column header: cell text}."""
    if not ref or not re.fullmatch(r"#?[\w.\-]+", ref):
        return {}
    target = _first(doc, f"//*[@ID='{ref.lstrip('#')}']")
    row = _first(target, "ancestor::cda:tr[1]") if target is not None else None
    table = _first(row, "ancestor::cda:table[1]") if row is not None else None
    if row is None or table is None:
        return {}
    headers = [_text(th) for th in _x(table, "cda:thead/cda:tr/cda:th")]
    cells = [_text(td) for td in _x(row, "cda:td")]
    return dict(zip(headers, cells, strict=False))


_STATUS_WORDS = {
    "poursuivi": MedicationStatus.POURSUIVI,
    "inchangé": MedicationStatus.POURSUIVI,
    "modifi": MedicationStatus.MODIFIE,
    "nouveau": MedicationStatus.NOUVEAU,
    "introduit": MedicationStatus.NOUVEAU,
    "suspendu": MedicationStatus.SUSPENDU,
    "arrêt": MedicationStatus.ARRETE,
    "arret": MedicationStatus.ARRETE,
}


def _status_from(text: str) -> MedicationStatus | None:
    lowered = text.lower()
    return next((s for word, s in _STATUS_WORDS.items() if word in lowered), None)


def _fmt_date(ts: str | None) -> str:
    moment = parse_ts(ts)
    return f"{moment:%d/%m/%Y}" if moment else ""


def _medication(doc: Any, sa: Any, stopped: bool) -> MedicationLine:
    ref = _attr(sa, "cda:text/cda:reference", "value")
    row = _row_cells(doc, ref)
    material = _first(sa, "cda:consumable/cda:manufacturedProduct/cda:manufacturedMaterial")
    code = _first(material, "cda:code") if material is not None else None
    name = _text(_first(material, "cda:name")) if material is not None else ""
    name = name or (code.get("displayName", "") if code is not None else "") or _referenced_text(doc, ref)
    cis = code.get("code") if code is not None and code.get("codeSystem") == OID_CIS else None
    atc = next(
        (
            t.get("code")
            for t in (_x(code, "cda:translation") if code is not None else [])
            if t.get("codeSystem") == OID_ATC
        ),
        None,
    )
    dosage = ", ".join(v for v in (row.get("Dose", ""), row.get("Fréquence", "")) if v)
    if not dosage:
        dose = _first(sa, "cda:doseQuantity/cda:low")
        dose = dose if dose is not None else _first(sa, "cda:doseQuantity")
        period = _first(sa, "cda:effectiveTime[@operator='A']/cda:period")
        if dose is not None and dose.get("value"):
            dosage = f"{dose.get('value')} {dose.get('unit', '')}".strip()
            if period is not None:
                dosage += f" toutes les {period.get('value')} {period.get('unit')}"
    low = _attr(sa, "cda:effectiveTime[cda:low or cda:high]/cda:low", "value")
    high = _attr(sa, "cda:effectiveTime[cda:low or cda:high]/cda:high", "value")
    start, end = row.get("Date de début") or _fmt_date(low), row.get("Date de fin") or _fmt_date(high)
    duration = f"du {start} au {end}" if start and end else (f"jusqu'au {end}" if end else "")
    comment = row.get("Commentaire", "")
    status = MedicationStatus.ARRETE if stopped else _status_from(comment)
    return MedicationLine(
        medicine=name,
        cis=cis,
        atc=atc,
        status=status,
        dosage="" if stopped else dosage,
        route=row.get("Voie admin.", "") or _attr(sa, "cda:routeCode", "displayName"),
        duration="" if stopped else duration,
        reason=comment if stopped or status in (MedicationStatus.MODIFIE, MedicationStatus.SUSPENDU) else "",
        comment="" if stopped else comment,
    )


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
    code = _attr(root, "cda:code", "code")
    if code != LDL_SES_CODE:
        label = _attr(root, "cda:code", "displayName") or "sans libellé"
        raise CdaReadError(
            f"Ce document n'est pas une lettre de liaison à la sortie : code {code or 'absent'} ({label}), "
            f"{LDL_SES_CODE} attendu."
        )
    if LDL_SES_TEMPLATE not in _x(root, "cda:templateId/@root"):
        raise CdaReadError(
            f"Ce document n'est pas conforme au modèle LDL-SES : templateId {LDL_SES_TEMPLATE} absent."
        )
    return root


def _patient(doc: Any) -> PatientIdentity:
    role = _first(doc, "cda:recordTarget/cda:patientRole")
    if role is None:
        return PatientIdentity()
    values: dict[str, Any] = {}
    for i in _x(role, "cda:id"):
        root, ext = i.get("root", ""), i.get("extension", "")
        if root in INS_OIDS and "ins_matricule" not in values:
            values.update(ins_matricule=ext, ins_oid=root)
        elif ext and "ipp" not in values:
            values.update(ipp=ext, ipp_oid=root)
    patient = _first(role, "cda:patient")
    name = _first(patient, "cda:name") if patient is not None else None
    if name is not None:
        fam = {f.get("qualifier", ""): _text(f) for f in _x(name, "cda:family")}
        giv = {g.get("qualifier", ""): _text(g) for g in _x(name, "cda:given")}
        values["birth_family_name"] = fam.get("BR") or fam.get("") or next(iter(fam.values()), "")
        values["used_family_name"] = fam.get("CL", "")
        values["given_names"] = giv.get("", "")
        first = giv.get("BR") or (giv.get("") or next(iter(giv.values()), "")).split(" ")[0]
        values["first_given_name"] = first
        values["used_given_name"] = giv.get("CL", "")
    if patient is not None:
        birth = parse_ts(_attr(patient, "cda:birthTime", "value"))
        values["birth_date"] = birth.date() if birth else None
        values["sex"] = {"M": Sex.M, "F": Sex.F}.get(
            _attr(patient, "cda:administrativeGenderCode", "code"), Sex.U
        )
        values["birth_place_cog"] = (
            _text(_first(patient, "cda:birthplace/cda:place/cda:addr/cda:county")) or None
        )
    values["address"] = _addr(_first(role, "cda:addr"))
    values["phone"] = _phone(role)
    return PatientIdentity(**values)


def _establishment(doc: Any) -> EstablishmentInfo:
    org = _first(doc, "cda:custodian/cda:assignedCustodian/cda:representedCustodianOrganization")
    unit = _text(
        _first(
            doc, "cda:documentationOf/cda:serviceEvent/cda:performer//cda:representedOrganization/cda:name"
        )
    )
    facility: dict[str, str] = {}
    code = _first(
        doc, "cda:componentOf/cda:encompassingEncounter/cda:location/cda:healthCareFacility/cda:code"
    )
    if code is not None and code.get("code"):  # absent: EstablishmentInfo's default type is kept
        facility["facility_type_code"] = code.get("code", "").strip()
        facility["facility_type_label"] = (code.get("displayName") or "").strip()  # never the default's
    if org is None:
        return EstablishmentInfo(unit_name=unit, **facility)
    finess = next((i.get("extension", "") for i in _x(org, "cda:id") if i.get("root") == OID_FINESS), "")
    finess = finess[1:] if len(finess) == 10 and finess.startswith("1") else finess
    return EstablishmentInfo(
        finess_eg=finess,
        name=_text(_first(org, "cda:name")),
        unit_name=unit,
        address=_addr(_first(org, "cda:addr")),
        phone=_phone(org),
        **facility,
    )


def read_cda(source: bytes | str | Path, sector: Sector = Sector.MCO) -> CdaReading:
    """Read an LDL-SES CDA (path, bytes or XML text). Raises `CdaReadError` in French."""
    doc = _parse(source)
    notes: list[str] = []
    sections = _sections(doc)
    c: dict[str, Any] = {"sector": sector, "patient": _patient(doc), "establishment": _establishment(doc)}

    # 1° people
    legal = _first(doc, "cda:legalAuthenticator/cda:assignedEntity")
    author = _first(doc, "cda:author/cda:assignedAuthor")
    signer = _professional(legal, "assignedPerson", "representedOrganization")
    author_p = _professional(author, "assignedPerson", "representedOrganization")
    c["responsible_physician"] = signer or author_p
    mt = _first(doc, "cda:participant[@typeCode='INF'][cda:functionCode/@code='PCP']/cda:associatedEntity")
    c["medecin_traitant"] = _professional(mt, "associatedPerson", "scopingOrganization")
    ref = _first(doc, "cda:participant[@typeCode='REF']/cda:associatedEntity")
    c["adresseur"] = _professional(ref, "associatedPerson", "scopingOrganization")
    recipients = []
    for r in _x(doc, "cda:informationRecipient/cda:intendedRecipient"):
        prof = _professional(r, "informationRecipient", "receivedOrganization")
        if prof is None:
            continue
        is_mt = c["medecin_traitant"] is not None and prof.rpps and prof.rpps == c["medecin_traitant"].rpps
        role = RecipientRole.MEDECIN_TRAITANT if is_mt else RecipientRole.AUTRE
        recipients.append(Recipient(role=role, name=prof.display_name, rpps=prof.rpps, mssante=prof.mssante))
    c["recipients"] = recipients

    # 1° dates and modalities
    span = _first(doc, "cda:documentationOf/cda:serviceEvent/cda:effectiveTime")
    if span is None or not _attr(span, "cda:high", "value"):
        span = _first(doc, "cda:componentOf/cda:encompassingEncounter/cda:effectiveTime")
    if span is not None:
        c["admission_at"] = parse_ts(_attr(span, "cda:low", "value"))
        c["discharge_at"] = parse_ts(_attr(span, "cda:high", "value"))
    summary = sections.get(SEC_SUMMARY)
    obs = _observations(summary)
    c["entry_mode"] = _mode(obs.get("ORG-070"), ENTRY_MODE_CODES)
    c["exit_mode"] = _mode(obs.get("ORG-074"), EXIT_MODE_CODES)
    if c["entry_mode"] is None and (text := _obs_text(doc, obs.get("ORG-070"))):
        c["entry_mode"] = _mode_from_words(text, _ENTRY_WORDS)
        notes.append("Modalité d'entrée lue dans le texte libre.")
    exit_text = _attr(obs.get("ORG-074"), "cda:value", "displayName") if "ORG-074" in obs else ""
    exit_text = exit_text or _obs_text(doc, obs.get("ORG-074"))
    if c["exit_mode"] is None and exit_text:
        c["exit_mode"] = _mode_from_words(exit_text, _EXIT_WORDS)
        notes.append("Modalité de sortie lue dans le texte libre.")
    c["destination"] = exit_text

    # 2° reason
    c["reason"] = _text(_first(sections[SEC_REASON], "cda:text")) if SEC_REASON in sections else ""

    # 3° summary and the "le cas échéant" items
    if "MED-142" in obs:
        c["medical_summary"] = _obs_text(doc, obs["MED-142"])
    elif summary is not None:
        c["medical_summary"] = _text(_first(summary, "cda:text"))
        if c["medical_summary"]:
            notes.append("Synthèse médicale lue dans le texte de la section (entrée MED-142 absente).")
    c["adverse_events"] = _presence_from_text(_obs_text(doc, obs.get("MED-143")))
    procedures = _referenced_text(doc, "#actes-examens")  # Liaison's own narrative row
    if procedures and procedures.lower().startswith("aucun"):
        c["no_procedures_and_exams"] = True
    elif procedures:
        c["procedures_and_exams"] = procedures
    # MED-309 (search done, BL; nullFlavor = not said) and MED-144 (organisms identified, ST).
    c["resistant_organisms_screened"] = _obs_bool(obs.get("MED-309"))
    organisms = _obs_text(doc, obs.get("MED-144"))
    if organisms:
        c["resistant_organisms"] = _presence_from_text(organisms)
    elif "MED-309" in obs:  # the question was answered and nothing was identified
        c["resistant_organisms"] = Presence(present=False)
    for code, detail_code, name, incident, label, incident_label in (
        (
            "MED-145",
            "MED-146",
            "transfusion",
            "transfusion_incident",
            "Transfusion de produits sanguins",
            "Accident transfusionnel",
        ),
        (
            "MED-147",
            "MED-148",
            "blood_derivatives",
            "blood_derivatives_incident",
            "Administration de dérivés du sang",
            "Événement indésirable suite aux dérivés du sang",
        ),
    ):
        given = _obs_bool(obs.get(code))
        if given is not None:
            c[name] = Presence(present=given, details=f"{label} (déclarée dans le CDA)" if given else "")
        c[incident] = _obs_detail(doc, obs.get(detail_code))
        if c[incident] and not given:
            notes.append(
                f"{incident_label} ({detail_code}) décrit alors que « {label.lower()} » ({code}) "
                "n'est pas déclarée."
            )
    devices_section = sections.get(SEC_DEVICES)
    if devices_section is not None:
        devices = []
        for supply in _x(devices_section, "cda:entry/cda:supply"):
            device = _first(supply, ".//cda:playingDevice/cda:code")
            description = (device.get("displayName", "") if device is not None else "") or _referenced_text(
                doc, _attr(device, "cda:originalText/cda:reference", "value") if device is not None else None
            )
            used = parse_ts(_attr(supply, "cda:effectiveTime/cda:low", "value"))
            devices.append(
                ImplantedDevice(
                    description=description or "Dispositif médical",
                    udi=_attr(supply, ".//cda:participantRole/cda:id", "extension"),
                    implanted_on=used.date() if used else None,
                )
            )
        c["devices"] = devices
        if devices:
            c["implanted_devices"] = Presence(present=True, details="; ".join(d.description for d in devices))
        else:
            c["implanted_devices"] = _presence_from_text(_text(_first(devices_section, "cda:text")))
    if SEC_ALLERGIES in sections:
        allergy_text = _text(_first(sections[SEC_ALLERGIES], "cda:text"))
        none = re.match(r"^\s*aucun", allergy_text, re.IGNORECASE)
        c["allergies"] = Presence(present=False) if none else _presence_from_text(allergy_text)

    # 4° treatments: the discharge-treatment section alone says what is taken after discharge;
    # the administered-treatments section (LDL-SES: drugs stopped during the stay) adds the stops.
    meds: list[MedicationLine] = []
    discharge_meds = sections.get(SEC_DISCHARGE_MEDS)
    medication_source = "absent"
    if discharge_meds is not None:
        medication_source = "empty"
        lines = _x(discharge_meds, "cda:entry/cda:substanceAdministration")
        meds += [_medication(doc, sa, stopped=False) for sa in lines]
        narrative = _text(_first(discharge_meds, "cda:text"))
        from_table = None if lines else _medications_from_table(discharge_meds)
        if lines:
            medication_source = "entries"
        elif from_table:
            meds += from_table
            medication_source = "narrative_table"
            notes.append(
                "Traitements de sortie lus dans le tableau du texte de la section, par ses colonnes "
                "(aucune entrée structurée)."
            )
        elif says_none(narrative) or re.match(r"^\W*aucun", narrative, re.IGNORECASE):
            c["no_discharge_medication"] = True
            medication_source = "narrative_none"
        elif narrative:
            meds.append(MedicationLine(medicine=narrative))
            medication_source = "narrative_text"
            notes.append(
                "Traitements de sortie lus dans le texte libre (ni entrée structurée ni tableau) : "
                "posologie et durée non vérifiables séparément."
            )
    administered = sections.get(SEC_ADMINISTERED)
    if administered is not None:
        meds += [
            _medication(doc, sa, stopped=True)
            for sa in _x(administered, "cda:entry/cda:substanceAdministration")
        ]
    c["medications"] = meds

    # 5° pending results
    results = sections.get(SEC_RESULTS)
    if results is not None:
        cells = [
            _text(x) for x in _x(results, "cda:text//cda:td | cda:text//cda:content[not(ancestor::cda:td)]")
        ]
        cells = [x for x in cells if x] or (
            [t] if (t := _text(_first(results, "cda:text/cda:paragraph"))) else []
        )
        if cells and all(says_none(x) or x.lower().startswith("aucun") for x in cells):
            c["no_pending_results"] = True
        else:
            c["pending_results"] = [PendingResult(description=x) for x in cells]

    # 6° follow-up
    plan = sections.get(SEC_CARE_PLAN)
    if plan is not None:
        follow: list[FollowUpItem] = []
        for entry in _x(plan, "cda:entry/*"):
            tag = etree.QName(entry).localname
            description = _referenced_text(doc, _attr(entry, "cda:text/cda:reference", "value"))
            description = description or _obs_text(doc, entry) or _attr(entry, "cda:code", "displayName")
            when = parse_ts(_attr(entry, "cda:effectiveTime", "value"))
            if tag == "encounter":
                booked = _attr(entry, "cda:priorityCode", "code") != "CS" and when is not None
                kind = FollowUpKind.RDV_PRIS if booked else FollowUpKind.RDV_A_PRENDRE
            elif tag == "procedure":
                kind = FollowUpKind.RDV_A_PRENDRE
            else:
                kind = FollowUpKind.SURVEILLANCE
            follow.append(
                FollowUpItem(
                    kind=kind, description=description or "Suite prévue", date=when.date() if when else None
                )
            )
        narrative = _text(_first(plan, "cda:text"))
        if not follow and narrative:
            if re.match(r"^\s*aucun", narrative, re.IGNORECASE):
                c["no_follow_up"] = True
            else:
                follow.append(FollowUpItem(kind=FollowUpKind.RECOMMANDATION, description=narrative))
                notes.append("Suites à donner lues dans le texte libre (aucune entrée structurée).")
        c["follow_up"] = follow
        urgent = re.search(rf"urgence[^0-9+]{{0,60}}({_PHONE.pattern})", narrative, re.IGNORECASE)
        if urgent:
            c["emergency_contact"] = urgent.group(1)

    content = LetterContent(**c)
    doc_id = _first(doc, "cda:id")
    letter_id = None
    if doc_id is not None:
        letter_id = ".".join(p for p in (doc_id.get("root"), doc_id.get("extension")) if p) or None
    legal_code = _attr(legal, "cda:code", "code") if legal is not None else ""
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
        signed_at=parse_ts(_attr(doc, "cda:legalAuthenticator/cda:time", "value")),
        signer_profession=signer_profession,
    )
    return CdaReading(content, facts, notes, medication_source)


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
