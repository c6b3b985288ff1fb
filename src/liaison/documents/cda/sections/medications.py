"""The medication lines shared by the two treatment sections (stopped, discharge): written as a
table and `substanceAdministration` entries (or the explicit « no medication » entry); read back
from the entries, or from a narrative table found by its column headers."""

from __future__ import annotations

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
from liaison.documents.cda.reading import (
    attr,
    first,
    fold,
    node_text,
    parse_ts,
    referenced_row,
    referenced_text,
    xpath,
)
from liaison.documents.cda.writer import SectionSpec, Writer, required
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
            MEDICATION_STATUS_LABELS[required(m.status, f"medications.{i}.status")],
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

# Narrative medication table columns, recognised by their header (accents and case ignored; the
# first match wins, so « Traitement habituel » is not taken for the medicine column).
_COLUMNS = {
    "usual": ("traitement habituel", "traitement anterieur", "traitement avant"),
    "medicine": ("medicament", "traitement", "specialite", "dci", "produit", "molecule"),
    "status": ("statut",),
    "dose": ("dose", "posologie"),
    "frequency": ("frequence", "rythme"),
    "duration": ("duree",),
    "start": ("date de debut", "debut"),
    "end": ("date de fin", "fin"),
    "route": ("voie",),
    "comment": ("commentaire", "remarque"),
}
# What Liaison's writer puts in an empty cell (`medication_section`: « non précisée », « — »),
# folded: read back as nothing, as is a cell of dashes.
_UNSTATED = {"non precisee", ""}


def _column(header: str) -> str | None:
    h = fold(header)
    if h.startswith(("dose max", "rythme admin")):  # the ANS table's extra columns, not the dosage
        return None
    for key, words in _COLUMNS.items():
        if any(h == w or h.startswith(w) for w in words):
            return key
    return None


def _by_column(cells: dict[str, str]) -> dict[str, str]:
    """{column header: cell} → {column key: cell}, empty and « non précisée » cells left out."""
    line: dict[str, str] = {}
    for header, cell in cells.items():
        key = _column(header)
        if key and cell and fold(cell).strip("-") not in _UNSTATED:
            line[key] = f"{line[key]}, {cell}" if key in line else cell
    return line


def _table_lines(table: etree._Element) -> list[dict[str, str]]:
    """The rows of a narrative table as {column key: cell text}, columns found by their header."""
    headers = [node_text(th) for th in xpath(table, "cda:thead/cda:tr/cda:th")]
    rows = xpath(table, "cda:tbody/cda:tr") or xpath(table, "cda:tr")
    if not headers and rows and xpath(rows[0], "cda:th"):
        headers, rows = [node_text(th) for th in xpath(rows[0], "cda:th")], rows[1:]
    out = []
    for row in rows:
        cells = [node_text(td) for td in xpath(row, "cda:td")]
        line = _by_column(dict(zip(headers, cells, strict=False)))
        if any(line.values()):
            out.append(line)
    return out


def _duration(x: dict[str, str]) -> str:
    start, end = x.get("start", ""), x.get("end", "")
    return x.get("duration") or (
        f"du {start} au {end}" if start and end else f"jusqu'au {end}" if end else ""
    )


def _line(
    x: dict[str, str], stopped: bool, medicine: str = "", cis: str | None = None, atc: str | None = None
) -> MedicationLine:
    """One line from its table cells; the status from the « Statut » column, else guessed from the
    comment. The comment cell holds the reason and the comment together (Liaison writes them in
    one cell): it is the reason when the status calls for one, otherwise the comment."""
    status = _status_label(x.get("status", "")) or _status_from(x.get("comment", ""))
    if stopped and status not in (MedicationStatus.ARRETE, MedicationStatus.SUSPENDU):
        status = MedicationStatus.ARRETE
    needs_reason = MedicationLine(status=status).needs_reason
    comment = x.get("comment", "")
    return MedicationLine(
        medicine=medicine or x.get("medicine", ""),
        cis=cis,
        atc=atc,
        usual_treatment=x.get("usual", ""),
        status=status,
        dosage=", ".join(v for v in (x.get("dose", ""), x.get("frequency", "")) if v),
        route=x.get("route", ""),
        duration=_duration(x),
        reason=comment if needs_reason else "",
        comment="" if needs_reason else comment,
    )


def medications_from_table(section: etree._Element) -> list[MedicationLine] | None:
    """Discharge treatment given only as a narrative table: None when no table names medicines."""
    for table in xpath(section, "cda:text//cda:table"):
        lines = [x for x in _table_lines(table) if x.get("medicine")]
        if lines:
            return [_line(x, stopped=False) for x in lines]
    return None


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
_STATUS_LABELS = {fold(label): status for status, label in MEDICATION_STATUS_LABELS.items()}


def _status_label(text: str) -> MedicationStatus | None:
    """A « Statut » cell: one of the labels Liaison writes (MEDICATION_STATUS_LABELS)."""
    return _STATUS_LABELS.get(fold(text))


def _status_from(text: str) -> MedicationStatus | None:
    lowered = text.lower()
    return next((s for word, s in _STATUS_WORDS.items() if word in lowered), None)


def _fmt_date(ts: str | None) -> str:
    moment = parse_ts(ts)
    return f"{moment:%d/%m/%Y}" if moment else ""


def is_no_medication(sa: etree._Element) -> bool:
    """The explicit « no known medication » entry (JDV_AbsentOrUnknownMedication_CISIS), not a line."""
    return attr(sa, "cda:code", "codeSystem") == ABSENT_UNKNOWN


def medication_line(doc: etree._Element, sa: etree._Element, stopped: bool) -> MedicationLine:
    """A `substanceAdministration` entry: the drug and its codes from the entry, the rest from its
    narrative table row (columns found by their header), else from the entry's dose and times."""
    ref = attr(sa, "cda:text/cda:reference", "value")
    x = _by_column(referenced_row(doc, ref))
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
    if "dose" not in x and "frequency" not in x:
        dose = first(sa, "cda:doseQuantity/cda:low")
        dose = dose if dose is not None else first(sa, "cda:doseQuantity")
        period = first(sa, "cda:effectiveTime[@operator='A']/cda:period")
        if dose is not None and dose.get("value"):
            x["dose"] = f"{dose.get('value')} {dose.get('unit', '')}".strip()
            if period is not None:
                x["dose"] += f" toutes les {period.get('value')} {period.get('unit')}"
    low = attr(sa, "cda:effectiveTime[cda:low or cda:high]/cda:low", "value")
    high = attr(sa, "cda:effectiveTime[cda:low or cda:high]/cda:high", "value")
    x.setdefault("start", _fmt_date(low))
    x.setdefault("end", _fmt_date(high))
    if "route" not in x and (route := attr(sa, "cda:routeCode", "displayName")):
        x["route"] = route
    return _line(x, stopped, medicine=name, cis=cis, atc=atc)
