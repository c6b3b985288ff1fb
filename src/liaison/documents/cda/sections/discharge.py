"""Section « Traitements à la sortie » (10183-2).

Its codes, its writer (`write`) and its reader (`read`), registered in `sections.REGISTRY`."""

from __future__ import annotations

import re

from lxml import etree

from liaison.core import catalogue
from liaison.core.content import (
    MedicationLine,
)
from liaison.documents.cda.reading import (
    ReadState,
    first,
    node_text,
    xpath,
)
from liaison.documents.cda.sections.medications import (
    is_no_medication,
    medication_line,
    medication_section,
    medications_from_table,
)
from liaison.documents.cda.writer import Section, SectionSpec, Writer
from liaison.quality.rules import says_none

SPEC = SectionSpec(
    ("1.3.6.1.4.1.19376.1.5.3.1.3.22", "1.2.250.1.213.1.1.2.146"),
    catalogue.DISCHARGE.code,
    catalogue.DISCHARGE.display,
)


def write(w: Writer, body: etree._Element) -> None:
    lines = [(i, m) for i, m in enumerate(w.c.medications) if m.taken_at_home]
    medication_section(
        w, body, SPEC, catalogue.DISCHARGE.title, lines, "Aucun traitement médicamenteux à la sortie."
    )


def read(s: ReadState, section: etree._Element | None) -> None:
    """The discharge section alone says what is taken after discharge: entries (the explicit « no
    known medication » entry meaning none), else a narrative table, else a narrative « aucun »,
    else the narrative text as one line."""
    if section is None:
        return
    c, doc = s.content, s.doc
    s.medication_source = "empty"
    meds: list[MedicationLine] = []
    entries = xpath(section, "cda:entry/cda:substanceAdministration")
    lines = [sa for sa in entries if not is_no_medication(sa)]
    meds += [medication_line(doc, sa, stopped=False) for sa in lines]
    narrative = node_text(first(section, "cda:text"))
    from_table = None if entries else medications_from_table(section)
    if lines:
        s.medication_source = "entries"
    elif entries:  # only the explicit « no known medication » entry
        c.no_discharge_medication = True
        s.medication_source = "entries"
    elif from_table:
        meds += from_table
        s.medication_source = "narrative_table"
        s.notes.append(
            "Traitements de sortie lus dans le tableau du texte de la section, par ses colonnes "
            "(aucune entrée structurée)."
        )
    elif says_none(narrative) or re.match(r"^\W*aucun", narrative, re.IGNORECASE):
        c.no_discharge_medication = True
        s.medication_source = "narrative_none"
    elif narrative:
        meds.append(MedicationLine(medicine=narrative))
        s.medication_source = "narrative_text"
        s.notes.append(
            "Traitements de sortie lus dans le texte libre (ni entrée structurée ni tableau) : "
            "posologie et durée non vérifiables séparément."
        )
    c.medications = meds + c.medications  # the stopped lines, read before, come after


SECTION = Section("discharge", SPEC, write, read, key_template="1.3.6.1.4.1.19376.1.5.3.1.3.22")
