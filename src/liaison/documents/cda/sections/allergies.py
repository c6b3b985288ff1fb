"""Section « Allergies et hypersensibilités » (48765-2).

Its codes, its writer (`write`) and its reader (`read`), registered in `sections.REGISTRY`."""

from __future__ import annotations

import re

from lxml import etree

from liaison.core import catalogue
from liaison.core.content import (
    Presence,
)
from liaison.documents.cda.codes import ALLERGY_LIST_TEMPLATES, ALLERGY_TEMPLATES, ALLERGY_TYPE, XSI_TYPE
from liaison.documents.cda.reading import (
    ReadState,
    first,
    node_lines,
    presence_from_text,
)
from liaison.documents.cda.writer import Section, SectionSpec, Writer, required
from liaison.documents.cda.xml import el, narrative, ts

SPEC = SectionSpec(
    ("2.16.840.1.113883.10.20.1.2", "1.3.6.1.4.1.19376.1.5.3.1.3.13", "1.2.250.1.213.1.1.2.137"),
    catalogue.ALLERGIES.code,
    catalogue.ALLERGIES.display,
)


def write(w: Writer, body: etree._Element) -> None:
    c = w.c
    if c.allergies.present is None:
        return
    sec, text = w.section(body, SPEC, catalogue.ALLERGIES.title)
    par = el(text, "paragraph")
    if c.allergies.present:
        narrative(el(par, "content", {"ID": "allergies"}), c.allergies.details)
    else:
        el(
            par,
            "content",
            {"ID": "allergies"},
            "Aucune allergie ni intolérance identifiée pendant le séjour.",
        )
    act = w.entry(sec, "act", {"classCode": "ACT", "moodCode": "EVN"}, ALLERGY_LIST_TEMPLATES)
    el(act, "code", {"nullFlavor": "NA"})
    el(act, "statusCode", {"code": "active"})
    el(el(act, "effectiveTime"), "low", {"value": ts(required(c.discharge_at, "discharge_at"))})
    attrs = {"classCode": "OBS", "moodCode": "EVN"}
    if not c.allergies.present:
        attrs["negationInd"] = "true"  # "no known allergy": the adverse-reaction propensity is negated
    obs = el(
        el(act, "entryRelationship", {"typeCode": "SUBJ", "inversionInd": "false"}), "observation", attrs
    )
    for root in ALLERGY_TEMPLATES:
        el(obs, "templateId", {"root": root})
    el(obs, "id", {"root": w.uid()})
    code, system, display = ALLERGY_TYPE
    el(
        obs,
        "code",
        {"code": code, "codeSystem": system, "codeSystemName": "SNOMED CT", "displayName": display},
    )
    el(el(obs, "text"), "reference", {"value": "#allergies"})
    el(obs, "statusCode", {"code": "completed"})
    el(el(obs, "effectiveTime", {XSI_TYPE: "IVL_TS"}), "low", {"nullFlavor": "UNK"})
    value = el(obs, "value", {XSI_TYPE: "CD"})
    el(el(value, "originalText"), "reference", {"value": "#allergies"})


def read(s: ReadState, section: etree._Element | None) -> None:
    if section is None:
        return
    allergy_text = node_lines(first(section, "cda:text"))
    none = re.match(r"^\s*aucun", allergy_text, re.IGNORECASE)
    s.content.allergies = Presence(present=False) if none else presence_from_text(allergy_text)


SECTION = Section("allergies", SPEC, write, read, key_template="1.3.6.1.4.1.19376.1.5.3.1.3.13")
