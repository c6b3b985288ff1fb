"""Section « Plan de soins » (18776-5): the follow-up and the emergency contact.

Its codes, its writer (`write`) and its reader (`read`), registered in `sections.REGISTRY`."""

from __future__ import annotations

import re

from lxml import etree

from liaison.core import catalogue
from liaison.core.content import (
    FOLLOW_UP_LABELS,
    ORIENTATION_LABELS,
    FollowUpItem,
    FollowUpKind,
    Orientation,
)
from liaison.documents.cda.codes import FOLLOW_UP_TEMPLATES, TA_ASIP, XSI_TYPE
from liaison.documents.cda.reading import (
    ReadState,
    attr,
    first,
    fold,
    node_text,
    obs_text,
    parse_ts,
    referenced_row,
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
EMERGENCY_LEAD = "En cas d'urgence, appeler : "  # the bold lead `write` puts before the contact


def write(w: Writer, body: etree._Element) -> None:
    c = w.c
    if not c.follow_up and not c.no_follow_up and not c.emergency_contact.strip():
        return
    sec, text = w.section(body, SPEC, catalogue.PLAN.title)
    if c.emergency_contact.strip():
        par = el(text, "paragraph")
        el(par, "content", {"styleCode": "Bold"}, EMERGENCY_LEAD)
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
_KINDS = {fold(label): kind for kind, label in FOLLOW_UP_LABELS.items()}
_ORIENTATIONS = {fold(o.value): o for o in Orientation} | {
    fold(label): o for o, label in ORIENTATION_LABELS.items()
}
# Columns of Liaison's follow-up table, by their header (`fold`ed).
_COLUMNS = {"type": "type", "with_whom": "avec", "orientation": "orientation"}


def _row(doc: etree._Element, ref: str) -> dict[str, str]:
    """The follow-up's table row by column key (type, with_whom, orientation), when it has one."""
    row = {fold(h): cell for h, cell in referenced_row(doc, ref).items()}
    return {key: row[header] for key, header in _COLUMNS.items() if row.get(header)}


def _entry_kind(
    doc: etree._Element, entry: etree._Element, tag: str, row: dict[str, str], booked: bool
) -> FollowUpKind:
    """The kind Liaison wrote (the « Type » column, or the label before « : » in the value), else
    what the entry's class says: an encounter is a booked or to-book appointment, a procedure
    to book, an observation a watch."""
    label, sep, _ = obs_text(doc, entry).partition(" : ")
    kind = _KINDS.get(fold(row.get("type", ""))) or (_KINDS.get(fold(label)) if sep else None)
    if kind is not None:
        return kind
    if tag == "encounter":
        return FollowUpKind.RDV_PRIS if booked else FollowUpKind.RDV_A_PRENDRE
    if tag == "procedure":
        return FollowUpKind.RDV_A_PRENDRE
    return FollowUpKind.SURVEILLANCE


def _narrative(section: etree._Element) -> tuple[str, str]:
    """The section's narrative without Liaison's emergency paragraph, and the contact that
    paragraph gives after its « En cas d'urgence, appeler : » lead ("" when there is none)."""
    text = first(section, "cda:text")
    if text is None:
        return "", ""
    for lead in xpath(section, "cda:text/cda:paragraph/cda:content"):
        if node_text(lead) == EMERGENCY_LEAD.strip() and (contact := node_text(lead.tail or "")):
            paragraph = lead.getparent()
            rest = [node_text(text.text or "")] + [
                node_text(child) + " " + node_text(child.tail or "")
                for child in text
                if child is not paragraph
            ]
            return " ".join(" ".join(rest).split()), contact
    return node_text(text), ""


def read(s: ReadState, section: etree._Element | None) -> None:
    """The follow-up from the entries (encounter, procedure, observation), else the narrative."""
    if section is None:
        return
    c, doc = s.content, s.doc
    follow: list[FollowUpItem] = []
    for entry in xpath(section, "cda:entry/*"):
        tag = etree.QName(entry).localname
        ref = attr(entry, "cda:text/cda:reference", "value")
        row = _row(doc, ref)
        description = referenced_text(doc, ref)
        description = description or obs_text(doc, entry) or attr(entry, "cda:code", "displayName")
        when = parse_ts(attr(entry, "cda:effectiveTime", "value"))
        booked = attr(entry, "cda:priorityCode", "code") != "CS" and when is not None
        follow.append(
            FollowUpItem(
                kind=_entry_kind(doc, entry, tag, row, booked),
                description=description or "Suite prévue",
                date=when.date() if when else None,
                with_whom=row.get("with_whom", ""),
                orientation=_ORIENTATIONS.get(fold(row.get("orientation", ""))),
            )
        )
    narrative, contact = _narrative(section)
    if not follow and narrative:
        if re.match(r"^\s*aucun", narrative, re.IGNORECASE):
            c.no_follow_up = True
        else:
            follow.append(FollowUpItem(kind=FollowUpKind.RECOMMANDATION, description=narrative))
            s.notes.append("Suites à donner lues dans le texte libre (aucune entrée structurée).")
    c.follow_up = follow
    if contact:
        c.emergency_contact = contact
    elif urgent := re.search(rf"urgence[^0-9+]{{0,60}}({PHONE.pattern})", narrative, re.IGNORECASE):
        c.emergency_contact = urgent.group(1)


SECTION = Section("plan", SPEC, write, read, key_template="1.3.6.1.4.1.19376.1.5.3.1.3.36")
