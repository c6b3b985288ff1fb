"""Section « Traitements administrés » (18610-6): the drugs stopped or suspended during the stay.

Its codes, its writer (`write`) and its reader (`read`), registered in `sections.REGISTRY`."""

from __future__ import annotations

from lxml import etree

from liaison.core import catalogue
from liaison.documents.cda.reading import (
    ReadState,
    xpath,
)
from liaison.documents.cda.sections.medications import (
    is_no_medication,
    medication_line,
    medication_section,
)
from liaison.documents.cda.writer import Section, SectionSpec, Writer

SPEC = SectionSpec(
    ("1.3.6.1.4.1.19376.1.5.3.1.3.21", "1.2.250.1.213.1.1.2.145"),
    catalogue.STOPPED.code,
    catalogue.STOPPED.display,
)


def write(w: Writer, body: etree._Element) -> None:
    lines = [(i, m) for i, m in enumerate(w.c.medications) if not m.taken_at_home]
    if lines:
        medication_section(w, body, SPEC, catalogue.STOPPED.title, lines, None)


def read(s: ReadState, section: etree._Element | None) -> None:
    """The drugs stopped during the stay; the discharge section (read next) puts its lines first."""
    if section is not None:
        s.content.medications = [
            medication_line(s.doc, sa, stopped=True)
            for sa in xpath(section, "cda:entry/cda:substanceAdministration")
            if not is_no_medication(sa)
        ]


SECTION = Section("stopped", SPEC, write, read, key_template="1.3.6.1.4.1.19376.1.5.3.1.3.21")
