"""Section « Statut du document » (33557-0): the document status, GEN-065."""

from __future__ import annotations

from lxml import etree

from liaison.core import catalogue
from liaison.documents.cda.codes import DOCUMENT_STATUS, SIMPLE_OBS, SNOMED, XSI_TYPE
from liaison.documents.cda.writer import Section, SectionSpec, Writer

SPEC = SectionSpec(
    ("1.2.250.1.213.1.1.2.35", "1.2.250.1.213.1.1.2.35.1"), catalogue.STATUS.code, catalogue.STATUS.display
)


def write(w: Writer, body: etree._Element) -> None:
    sec, text = w.section(body, SPEC, catalogue.STATUS.title)
    display, label = DOCUMENT_STATUS[w.meta.status_code]
    w.row(w.table(text, None), "Statut du document", label, "statut-document")
    w.simple_obs(
        sec,
        "GEN-065",
        "statut-document",
        w.meta.effective_time,
        {
            XSI_TYPE: "CD",
            "code": w.meta.status_code,
            "codeSystem": SNOMED,
            "codeSystemName": "SNOMED CT",
            "displayName": display,
        },
        templates=(*SIMPLE_OBS, "1.2.250.1.213.1.1.3.48.16", "1.2.250.1.213.1.1.3.48.16.1"),
    )


SECTION = Section("status", SPEC, write, None, key_template="1.2.250.1.213.1.1.2.35")
