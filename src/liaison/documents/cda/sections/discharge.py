"""Section « Traitements à la sortie » (10183-2)."""

from __future__ import annotations

from lxml import etree

from liaison.documents.cda.sections.medications import medication_section
from liaison.documents.cda.writer import Section, SectionSpec, Writer

SPEC = SectionSpec(
    ("1.3.6.1.4.1.19376.1.5.3.1.3.22", "1.2.250.1.213.1.1.2.146"),
    "10183-2",
    "Traitements à la sortie",
)


def write(w: Writer, body: etree._Element) -> None:
    lines = [(i, m) for i, m in enumerate(w.c.medications) if m.taken_at_home]
    medication_section(
        w, body, SPEC, "Traitements à la sortie", lines, "Aucun traitement médicamenteux à la sortie."
    )


SECTION = Section("discharge", SPEC, write, key_template="1.3.6.1.4.1.19376.1.5.3.1.3.22")
