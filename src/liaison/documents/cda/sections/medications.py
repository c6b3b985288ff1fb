"""The medication lines shared by the two treatment sections (stopped, discharge): table and
`substanceAdministration` entries, or the explicit « no medication » entry."""

from __future__ import annotations

from lxml import etree

from liaison.core.content import MEDICATION_STATUS_LABELS, MedicationLine
from liaison.documents.cda.codes import (
    ABSENT_UNKNOWN,
    ACT_CODE,
    ATC,
    CIS,
    MEDICATION_TABLE_HEADERS,
    MEDICATION_TEMPLATES,
    PRODUCT_TEMPLATES,
)
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
