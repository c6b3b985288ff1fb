"""What `read_cda` reads from each reference CDA, from the ANS example and from mutated copies of it
is identical to its frozen reading (cda_reference/readings/*.json).

The reader's safety net for issue 17 item 3, as `test_cda_bytes` is the builder's: the mutations
take the reader through its fallbacks (no entries, narrative table, narrative « aucun », sections
found by their LOINC code without templateId, summary without MED-142). Regenerate on purpose with
`LIAISON_WRITE_CDA_REFERENCES=1 pytest tests/documents/test_cda_readings.py`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from liaison.documents.reader import NS, read_cda
from liaison.paths import ldl_ses_dir
from tests.documents.reference_letters import CASES

REFERENCES = Path(__file__).parent / "cda_reference"
READINGS = REFERENCES / "readings"
EXAMPLES = ldl_ses_dir() / "ExemplesCDA"
DISCHARGE = "1.3.6.1.4.1.19376.1.5.3.1.3.22"
PLAN = "1.3.6.1.4.1.19376.1.5.3.1.3.36"
SUMMARY = "1.3.6.1.4.1.19376.1.7.3.1.1.13.7"


def _example() -> etree._Element:
    return etree.parse(str(EXAMPLES / "LDL-SES_2022.01.xml")).getroot()


def _section(doc: etree._Element, template: str) -> etree._Element:
    return doc.xpath(f"//cda:section[cda:templateId/@root='{template}']", namespaces=NS)[0]


def _drop(doc: etree._Element, path: str) -> None:
    for node in doc.xpath(path, namespaces=NS):
        node.getparent().remove(node)


def _no_entries(template: str) -> Callable[[], etree._Element]:
    def mutate() -> etree._Element:
        doc = _example()
        _drop(_section(doc, template), "cda:entry")
        return doc

    return mutate


def _narrative(template: str, text: str) -> Callable[[], etree._Element]:
    def mutate() -> etree._Element:
        doc = _example()
        s = _section(doc, template)
        _drop(s, "cda:entry")
        narrative = s.find("cda:text", NS)
        for child in list(narrative):
            narrative.remove(child)
        narrative.text = text
        return doc

    return mutate


def _no_template_ids() -> etree._Element:
    doc = _example()
    _drop(doc, "//cda:section/cda:templateId")
    return doc


def _summary_without_entries() -> etree._Element:
    doc = _example()
    _drop(_section(doc, SUMMARY), "cda:entry")
    return doc


MUTATIONS: dict[str, Callable[[], etree._Element]] = {
    "ans_example": _example,
    "ans_discharge_without_entries": _no_entries(DISCHARGE),
    "ans_discharge_narrative_none": _narrative(DISCHARGE, "Aucun traitement à la sortie."),
    "ans_discharge_narrative_text": _narrative(DISCHARGE, "Paracétamol 1 g si douleur, 5 jours."),
    "ans_plan_without_entries": _no_entries(PLAN),
    "ans_plan_narrative": _narrative(PLAN, "Consultation dans un mois. En cas d'urgence : 01 40 00 00 99"),
    "ans_sections_by_loinc": _no_template_ids,
    "ans_summary_without_entries": _summary_without_entries,
}


def _source(name: str) -> bytes:
    if name in MUTATIONS:
        return etree.tostring(MUTATIONS[name](), xml_declaration=True, encoding="UTF-8")
    return (REFERENCES / f"{name}.xml").read_bytes()


def _reading(name: str) -> dict:
    r = read_cda(_source(name))
    return {
        "content": r.content.model_dump(mode="json"),
        "facts": r.facts.model_dump(mode="json"),
        "notes": r.notes,
        "medication_source": r.medication_source,
    }


@pytest.mark.parametrize("name", sorted(CASES) + sorted(MUTATIONS))
def test_reading_matches_the_reference(name: str) -> None:
    reading = _reading(name)
    path = READINGS / f"{name}.json"
    if os.environ.get("LIAISON_WRITE_CDA_REFERENCES") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(reading, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
    assert reading == json.loads(path.read_text())
