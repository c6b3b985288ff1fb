"""The medication lines shared by the two treatment sections (stopped, discharge): written as a
table and `substanceAdministration` entries (or the explicit « no medication » entry); read back
from the entries, or from a narrative table found by its column headers."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from lxml import etree

from liaison.core.content import MEDICATION_STATUS_LABELS, MedicationLine, MedicationStatus
from liaison.documents.cda.codes import (
    ABSENT_UNKNOWN,
    ACT_CODE,
    ATC,
    CIS,
    MEDICATION_TABLE_HEADERS,
    MEDICATION_TEMPLATES,
    PRODUCT_TEMPLATES,
)
from liaison.documents.cda.reading import attr, first, node_text, parse_ts, referenced_text, xpath
from liaison.documents.cda.writer import SectionSpec, Writer
from liaison.documents.cda.xml import el


def medication_section(
    w: Writer,
    body: etree._Element,
    spec: SectionSpec,
    title: str,
    lines: list[tuple[int, MedicationLine]],
    none_text: str | None,
) -> None:
    sec, text = w.section(body, spec, title)
    if not lines:
        el(el(text, "paragraph"), "content", {"ID": "aucun-traitement"}, none_text)
        no_medication(w, sec)
        return
    tbody = w.table(text, MEDICATION_TABLE_HEADERS)
    for i, m in lines:
        ref = f"med-{i + 1}"
        tr = el(tbody, "tr")
        el(el(tr, "td"), "content", {"ID": ref}, m.medicine)
        comment = " ".join(x for x in (m.reason, m.comment) if x.strip())
        for value in (
            MEDICATION_STATUS_LABELS[m.status],
            m.dosage or "non précisée",
            m.route,
            m.duration or ("—" if not m.taken_at_home else "non précisée"),
            m.usual_treatment,
            comment,
        ):
            el(tr, "td", text=value)
        medication(w, sec, m, ref)


def medication(w: Writer, sec: etree._Element, m: MedicationLine, ref: str) -> None:
    sa = w.entry(
        sec, "substanceAdministration", {"classCode": "SBADM", "moodCode": "EVN"}, MEDICATION_TEMPLATES
    )
    el(
        sa,
        "code",
        {
            "code": "DRUG",
            "codeSystem": ACT_CODE,
            "codeSystemName": "HL7:ActCode",
            "displayName": "Médicament",
        },
    )
    el(el(sa, "text"), "reference", {"value": f"#{ref}"})
    el(sa, "statusCode", {"code": "completed"})
    product = el(el(sa, "consumable"), "manufacturedProduct")
    for root in PRODUCT_TEMPLATES:
        el(product, "templateId", {"root": root})
    material = el(product, "manufacturedMaterial")
    if m.cis:
        code = el(
            material,
            "code",
            {"code": m.cis, "codeSystem": CIS, "codeSystemName": "CIS", "displayName": m.medicine},
        )
    else:
        code = el(material, "code", {"nullFlavor": "UNK"})
    el(el(code, "originalText"), "reference", {"value": f"#{ref}"})
    if m.atc:
        el(code, "translation", {"code": m.atc, "codeSystem": ATC, "codeSystemName": "ATC"})
    el(material, "name", text=m.medicine)


def no_medication(w: Writer, sec: etree._Element) -> None:
    """Explicit "no discharge medication" (JDV_AbsentOrUnknownMedication_CISIS)."""
    sa = w.entry(
        sec, "substanceAdministration", {"classCode": "SBADM", "moodCode": "EVN"}, MEDICATION_TEMPLATES
    )
    el(
        sa,
        "code",
        {
            "code": "no-known-medications",
            "codeSystem": ABSENT_UNKNOWN,
            "displayName": "Pas de traitement médicamenteux connu",
        },
    )
    el(el(sa, "text"), "reference", {"value": "#aucun-traitement"})
    el(sa, "statusCode", {"code": "completed"})
    product = el(el(sa, "consumable"), "manufacturedProduct")
    for root in PRODUCT_TEMPLATES:
        el(product, "templateId", {"root": root})
    material = el(product, "manufacturedMaterial")
    el(material, "code", {"nullFlavor": "NA"})
    el(material, "name", {"nullFlavor": "NA"})


# --- reading ---------------------------------------------------------------------------------

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
    headers = [node_text(th) for th in xpath(table, "cda:thead/cda:tr/cda:th")]
    rows = xpath(table, "cda:tbody/cda:tr") or xpath(table, "cda:tr")
    if not headers and rows and xpath(rows[0], "cda:th"):
        headers, rows = [node_text(th) for th in xpath(rows[0], "cda:th")], rows[1:]
    keys = [_column(h) for h in headers]
    out = []
    for row in rows:
        cells = [node_text(td) for td in xpath(row, "cda:td")]
        line: dict[str, str] = {}
        for key, cell in zip(keys, cells, strict=False):
            if key and cell:
                line[key] = f"{line[key]}, {cell}" if key in line else cell
        if any(line.values()):
            out.append(line)
    return out


def medications_from_table(section: Any) -> list[MedicationLine] | None:
    """Discharge treatment given only as a narrative table: None when no table names medicines."""
    for table in xpath(section, "cda:text//cda:table"):
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
    target = first(doc, f"//*[@ID='{ref.lstrip('#')}']")
    row = first(target, "ancestor::cda:tr[1]") if target is not None else None
    table = first(row, "ancestor::cda:table[1]") if row is not None else None
    if row is None or table is None:
        return {}
    headers = [node_text(th) for th in xpath(table, "cda:thead/cda:tr/cda:th")]
    cells = [node_text(td) for td in xpath(row, "cda:td")]
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


def medication_line(doc: Any, sa: Any, stopped: bool) -> MedicationLine:
    ref = attr(sa, "cda:text/cda:reference", "value")
    row = _row_cells(doc, ref)
    material = first(sa, "cda:consumable/cda:manufacturedProduct/cda:manufacturedMaterial")
    code = first(material, "cda:code") if material is not None else None
    name = node_text(first(material, "cda:name")) if material is not None else ""
    name = name or (code.get("displayName", "") if code is not None else "") or referenced_text(doc, ref)
    cis = code.get("code") if code is not None and code.get("codeSystem") == CIS else None
    atc = next(
        (
            t.get("code")
            for t in (xpath(code, "cda:translation") if code is not None else [])
            if t.get("codeSystem") == ATC
        ),
        None,
    )
    dosage = ", ".join(v for v in (row.get("Dose", ""), row.get("Fréquence", "")) if v)
    if not dosage:
        dose = first(sa, "cda:doseQuantity/cda:low")
        dose = dose if dose is not None else first(sa, "cda:doseQuantity")
        period = first(sa, "cda:effectiveTime[@operator='A']/cda:period")
        if dose is not None and dose.get("value"):
            dosage = f"{dose.get('value')} {dose.get('unit', '')}".strip()
            if period is not None:
                dosage += f" toutes les {period.get('value')} {period.get('unit')}"
    low = attr(sa, "cda:effectiveTime[cda:low or cda:high]/cda:low", "value")
    high = attr(sa, "cda:effectiveTime[cda:low or cda:high]/cda:high", "value")
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
        route=row.get("Voie admin.", "") or attr(sa, "cda:routeCode", "displayName"),
        duration="" if stopped else duration,
        reason=comment if stopped or status in (MedicationStatus.MODIFIE, MedicationStatus.SUSPENDU) else "",
        comment="" if stopped else comment,
    )
