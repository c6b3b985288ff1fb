"""Section « Plan de soins » (18776-5): the follow-up and the emergency contact."""

from __future__ import annotations

from lxml import etree

from liaison.core.content import FOLLOW_UP_LABELS
from liaison.documents.cda.codes import FOLLOW_UP_TEMPLATES, TA_ASIP, XSI_TYPE
from liaison.documents.cda.writer import Section, SectionSpec, Writer
from liaison.documents.cda.xml import el, fr_date, hl7_date

SPEC = SectionSpec(
    ("2.16.840.1.113883.10.20.1.10", "1.3.6.1.4.1.19376.1.5.3.1.3.36", "1.2.250.1.213.1.1.2.158"),
    "18776-5",
    "Plan de soins",
)


def write(w: Writer, body: etree._Element) -> None:
    c = w.c
    if not c.follow_up and not c.no_follow_up and not c.emergency_contact.strip():
        return
    sec, text = w.section(body, SPEC, "Suites à donner")
    if c.emergency_contact.strip():
        par = el(text, "paragraph")
        el(par, "content", {"styleCode": "Bold"}, "En cas d'urgence, appeler : ")
        par[-1].tail = c.emergency_contact.strip()
    if not c.follow_up:
        el(text, "paragraph", text="Aucune suite particulière.")
        return
    tbody = w.table(text, ("Type", "Description", "Date", "Avec", "Orientation"))
    for i, f in enumerate(c.follow_up):
        ref = f"suite-{i + 1}"
        tr = el(tbody, "tr")
        el(tr, "td", text=FOLLOW_UP_LABELS[f.kind])
        el(el(tr, "td"), "content", {"ID": ref}, f.description)
        el(tr, "td", text=fr_date(f.date))
        el(tr, "td", text=f.with_whom)
        el(tr, "td", text=f.orientation.value if f.orientation else "")
    for i, f in enumerate(c.follow_up):
        obs = w.entry(sec, "observation", {"classCode": "OBS", "moodCode": "INT"}, FOLLOW_UP_TEMPLATES)
        el(
            obs,
            "code",
            {
                "code": "ORG-064",
                "codeSystem": TA_ASIP,
                "codeSystemName": "TA_ASIP",
                "displayName": "Demande d'examen ou de suivi",
            },
        )
        el(el(obs, "text"), "reference", {"value": f"#suite-{i + 1}"})
        el(obs, "statusCode", {"code": "active"})
        el(obs, "effectiveTime", {"value": hl7_date(f.date)} if f.date else {"nullFlavor": "UNK"})
        el(obs, "value", {XSI_TYPE: "ST"}, f"{FOLLOW_UP_LABELS[f.kind]} : {f.description}")


SECTION = Section("plan", SPEC, write, key_template="1.3.6.1.4.1.19376.1.5.3.1.3.36")
