"""Section « Motif de l'hospitalisation » (42349-1).

Its codes, its writer (`write`) and its reader (`read`), registered in `sections.REGISTRY`."""

from __future__ import annotations

from lxml import etree

from liaison.core import catalogue
from liaison.documents.cda.reading import (
    ReadState,
    first,
    node_lines,
)
from liaison.documents.cda.writer import Section, SectionSpec, Writer
from liaison.documents.cda.xml import el, narrative

SPEC = SectionSpec(
    ("1.3.6.1.4.1.19376.1.5.3.1.3.1", "1.2.250.1.213.1.1.2.127"),
    catalogue.REASON.code,
    catalogue.REASON.display,
)


def write(w: Writer, body: etree._Element) -> None:
    _, text = w.section(body, SPEC, catalogue.REASON.title)
    narrative(el(text, "paragraph"), w.c.reason)


def read(s: ReadState, section: etree._Element | None) -> None:
    s.content.reason = node_lines(first(section, "cda:text")) if section is not None else ""


SECTION = Section("reason", SPEC, write, read, key_template="1.3.6.1.4.1.19376.1.5.3.1.3.1")
