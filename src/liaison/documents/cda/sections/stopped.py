"""Section « Traitements administrés » (18610-6): the drugs stopped or suspended during the stay."""

from __future__ import annotations

from lxml import etree

from liaison.documents.cda.sections.medications import medication_section
from liaison.documents.cda.writer import Section, SectionSpec, Writer

SPEC = SectionSpec(
    ("1.3.6.1.4.1.19376.1.5.3.1.3.21", "1.2.250.1.213.1.1.2.145"),
    "18610-6",
    "Traitements administrés",
)


def write(w: Writer, body: etree._Element) -> None:
    lines = [(i, m) for i, m in enumerate(w.c.medications) if not m.taken_at_home]
    if lines:
        medication_section(w, body, SPEC, "Traitements arrêtés ou suspendus durant le séjour", lines, None)


SECTION = Section("stopped", SPEC, write, key_template="1.3.6.1.4.1.19376.1.5.3.1.3.21")
