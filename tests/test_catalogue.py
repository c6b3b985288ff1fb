"""The catalogue of the letter's fields (`liaison.core.catalogue`) is what its readers read: the
form, the content checks, the QLS rules, the CDA sections and entries, the PDF and the validator
name each element as the catalogue does, and the catalogue matches the content model and the grids.
"""

from __future__ import annotations

from lxml import etree

from liaison.core import catalogue
from liaison.core.content import PRESENCE_LABELS, LetterContent, Presence
from liaison.documents.cda import build_cda
from liaison.documents.cda.codes import SUMMARY_ENTRIES
from liaison.documents.cda.sections import REGISTRY
from liaison.documents.pdf import letter_data
from liaison.documents.validation import SECTION3_OPTIONAL, SECTION3_REQUIRED
from liaison.quality.grid import all_grids
from tests.documents import sample_letters as letters

NS = {"h": "urn:hl7-org:v3"}


def test_one_element_per_field_of_the_content_in_its_order() -> None:
    fields = [name for name in LetterContent.model_fields if name not in ("schema_version", "prefill")]
    assert [e.key for e in catalogue.ELEMENTS] == fields


def test_presence_items_are_the_presence_fields() -> None:
    presence = [n for n, f in LetterContent.model_fields.items() if f.annotation in (Presence, "Presence")]
    assert list(catalogue.PRESENCE_KEYS) == presence
    assert all(e.question and e.printed for e in catalogue.PRESENCE)


def test_content_labels_come_from_the_catalogue() -> None:
    assert {e.key: e.label for e in catalogue.PRESENCE} == PRESENCE_LABELS


def test_every_cda_section_is_in_the_catalogue() -> None:
    assert [s.spec.code for s in REGISTRY] == [s.code for s in catalogue.SECTIONS]
    for section in REGISTRY:
        assert section.spec.display == catalogue.SECTION_BY_CODE[section.spec.code].display
    used = {code for e in catalogue.ELEMENTS for code in e.sections}
    assert used <= set(catalogue.SECTION_BY_CODE)
    assert {s.key for s in catalogue.SECTIONS if s.key} <= set(catalogue.BY_KEY)


def test_summary_entries_come_from_the_catalogue() -> None:
    assert {e.code: (e.template_id, e.display) for e in catalogue.ENTRIES} == SUMMARY_ENTRIES
    assert all(
        catalogue.SUMMARY.code in catalogue.BY_KEY[k].sections for k in catalogue.FIELD_OF_ENTRY.values()
    )


def test_criteria_are_the_grids_criteria_that_read_the_field() -> None:
    reading: dict[str, set[str]] = {}
    for grid in all_grids():
        for item in [*grid.gates, *grid.criteria]:
            for read in item.reads:
                if read.startswith("content."):
                    reading.setdefault(read.removeprefix("content.").split(".")[0], set()).add(item.id)
    for e in catalogue.ELEMENTS:
        assert set(e.criteria) == reading.get(e.key, set()), e.key


def test_validator_tables_come_from_the_catalogue() -> None:
    assert {e.code: e.label for e in catalogue.ENTRIES if e.required} == SECTION3_REQUIRED
    assert set(SECTION3_OPTIONAL) == set(catalogue.ENTRY_BY_CODE) - set(SECTION3_REQUIRED)


def test_section_titles_in_the_cda_are_the_catalogue_s() -> None:
    doc = etree.fromstring(build_cda(letters.complete(), letters.meta()))
    titles = {
        s.find("h:code", NS).get("code"): s.find("h:title", NS).text for s in doc.iterfind(".//h:section", NS)
    }
    assert titles == {code: catalogue.SECTION_BY_CODE[code].title for code in titles}
    assert len(titles) >= 8


def test_pdf_item_labels_come_from_the_catalogue() -> None:
    c = letters.complete()
    c.transfusion_incident = "Frissons"
    c.blood_derivatives_incident = "Urticaire"
    printed = {e.printed for e in catalogue.ELEMENTS if e.printed}
    labels = {item["label"] for item in letter_data(c, letters.meta())["items"]}
    assert labels <= printed
    assert {catalogue.BY_KEY[k].printed for k in catalogue.PRESENCE_KEYS} <= labels
