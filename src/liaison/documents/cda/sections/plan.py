"""Section « Plan de soins » (18776-5): the follow-up and the emergency contact.

Its codes, its writer (`write`) and its reader (`read`), registered in `sections.REGISTRY`."""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from liaison.core import catalogue
from liaison.core.content import (
    FOLLOW_UP_LABELS,
    FollowUpItem,
    FollowUpKind,
)
from liaison.documents.cda.codes import FOLLOW_UP_TEMPLATES, TA_ASIP, XSI_TYPE
from liaison.documents.cda.reading import (
    ReadState,
    attr,
    first,
    node_text,
    obs_text,
    parse_ts,
    referenced_text,
    xpath,
)
from liaison.documents.cda.writer import Section, SectionSpec, Writer
from liaison.documents.cda.xml import el, fr_date, hl7_date

SPEC = SectionSpec(
    ("2.16.840.1.113883.10.20.1.10", "1.3.6.1.4.1.19376.1.5.3.1.3.36", "1.2.250.1.213.1.1.2.158"),
    catalogue.PLAN.code,
    catalogue.PLAN.display,
)


def write(w: Writer, body: etree._Element) -> None:
    c = w.c
    if not c.follow_up and not c.no_follow_up and not c.emergency_contact.strip():
        return
    sec, text = w.section(body, SPEC, catalogue.PLAN.title)
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


PHONE = re.compile(r"(?:\+33\s?|0)[1-9](?:[\s.-]?\d{2}){4}")


def read(s: ReadState, section: Any | None) -> None:
    """The follow-up from the entries (encounter, procedure, observation), else the narrative."""
    if section is None:
        return
    c, doc = s.content, s.doc
    follow: list[FollowUpItem] = []
    for entry in xpath(section, "cda:entry/*"):
        tag = etree.QName(entry).localname
        description = referenced_text(doc, attr(entry, "cda:text/cda:reference", "value"))
        description = description or obs_text(doc, entry) or attr(entry, "cda:code", "displayName")
        when = parse_ts(attr(entry, "cda:effectiveTime", "value"))
        if tag == "encounter":
            booked = attr(entry, "cda:priorityCode", "code") != "CS" and when is not None
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
    narrative = node_text(first(section, "cda:text"))
    if not follow and narrative:
        if re.match(r"^\s*aucun", narrative, re.IGNORECASE):
            c.no_follow_up = True
        else:
            follow.append(FollowUpItem(kind=FollowUpKind.RECOMMANDATION, description=narrative))
            s.notes.append("Suites à donner lues dans le texte libre (aucune entrée structurée).")
    c.follow_up = follow
    urgent = re.search(rf"urgence[^0-9+]{{0,60}}({PHONE.pattern})", narrative, re.IGNORECASE)
    if urgent:
        c.emergency_contact = urgent.group(1)


SECTION = Section("plan", SPEC, write, read, key_template="1.3.6.1.4.1.19376.1.5.3.1.3.36")
