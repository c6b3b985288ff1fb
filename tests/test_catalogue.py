"""The catalogue of the letter's fields (`liaison.core.catalogue`) is what its readers read: the
form, the content checks, the QLS rules, the CDA sections and entries, the PDF and the validator
name each element as the catalogue does, and the catalogue matches the content model and the grids.
"""

from __future__ import annotations

import typing

import pytest
from lxml import etree

from liaison.core import catalogue
from liaison.core.content import (
    PREFILL_SECTIONS,
    LetterContent,
    LetterFacts,
    MedicationLine,
    MedicationStatus,
    Presence,
    content_problems,
)
from liaison.documents.cda import CdaBuildError, build_cda
from liaison.documents.cda.checks import cda_problems
from liaison.documents.cda.codes import SUMMARY_ENTRIES
from liaison.documents.cda.sections import REGISTRY
from liaison.documents.pdf import letter_data
from liaison.documents.validation import SECTION3_OPTIONAL, SECTION3_REQUIRED
from liaison.quality.grid import all_grids
from liaison.quality.rules import LetterView, PresenceItem, presence_answered
from tests.documents import sample_letters as letters
from tests.documents.reference_letters import CASES

NS = {"h": "urn:hl7-org:v3"}


def test_one_element_per_field_of_the_content_in_its_order() -> None:
    fields = [name for name in LetterContent.model_fields if name not in ("schema_version", "prefill")]
    assert [e.key for e in catalogue.ELEMENTS] == fields


def test_presence_items_are_the_presence_fields() -> None:
    presence = [n for n, f in LetterContent.model_fields.items() if f.annotation in (Presence, "Presence")]
    assert list(catalogue.PRESENCE_KEYS) == presence
    assert all(e.question and e.printed for e in catalogue.PRESENCE)


def test_prefilled_sections_and_qls_presence_items_are_the_catalogue_s() -> None:
    assert {e.key: e.drafted for e in catalogue.ELEMENTS if e.drafted} == PREFILL_SECTIONS
    assert typing.get_args(PresenceItem) == catalogue.PRESENCE_KEYS


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


# --- the CDA's check is the content's strict check plus what only the CDA needs ------------------


def _broken() -> dict[str, LetterContent]:
    """Letters the CDA refuses, each for reasons of the content and of the CDA."""

    def changed(**updates: object) -> LetterContent:
        c = letters.complete()
        for name, value in updates.items():
            setattr(c, name, value)
        return c

    no_identity = letters.complete()
    no_identity.patient.birth_family_name = " "
    no_identity.patient.birth_date = None
    no_identity.patient.birth_place_cog = None
    bad_line = letters.complete()
    bad_line.medications.append(MedicationLine(medicine="", status=MedicationStatus.ARRETE))
    bad_line.medications.append(MedicationLine(medicine="X"))
    return {
        "empty": LetterContent(),
        "no_identity": no_identity,
        "bad_line": bad_line,
        "unanswered": changed(
            adverse_events=Presence(),
            resistant_organisms=Presence(),
            transfusion=Presence(),
            blood_derivatives=Presence(),
            implanted_devices=Presence(),
            allergies=Presence(),
        ),
        "present_without_details": changed(
            adverse_events=Presence(present=True),
            resistant_organisms=Presence(present=True),
            transfusion=Presence(present=True),
            blood_derivatives=Presence(present=True),
            implanted_devices=Presence(present=True),
            allergies=Presence(present=True),
            resistant_organisms_screened=False,
        ),
        "incidents_alone": changed(transfusion_incident="Frissons", blood_derivatives_incident="Urticaire"),
        "no_text": changed(reason="", medical_summary=" ", medications=[], no_discharge_medication=False),
        "no_dates": changed(admission_at=None, discharge_at=None, entry_mode=None, exit_mode=None),
    }


def _cda_refusal(content: LetterContent) -> set[tuple[str, str]]:
    try:
        build_cda(content, letters.meta())
    except CdaBuildError as exc:
        return set(exc.problems)
    return set()


@pytest.mark.parametrize("name", sorted(_broken()))
def test_the_cda_refuses_what_the_strict_content_check_finds(name: str) -> None:
    content = _broken()[name]
    strict = {(p.field, p.message) for p in content_problems(content, strict=True)}
    assert strict, "a broken letter has content problems"
    refused = _cda_refusal(content)
    assert strict <= refused
    assert refused - strict == set(cda_problems(content, letters.meta()))


@pytest.mark.parametrize("name", sorted(CASES))
def test_reference_letters_have_no_strict_content_problem(name: str) -> None:
    content, _ = CASES[name]()
    assert content_problems(content, strict=True) == []


def test_both_checks_say_it_in_the_same_words() -> None:
    """A problem both modes find is worded once (the CDA's check had its own copies)."""
    for content in _broken().values():
        strict = {p.field: p.message for p in content_problems(content, strict=True)}
        for p in content_problems(content):
            if p.field in strict:
                assert strict[p.field] == p.message, p.field


def test_the_form_names_fields_as_the_catalogue_does() -> None:
    from liaison.web.letter_form import field_label

    assert field_label("reason") == "Motif de l'hospitalisation"
    assert field_label("adverse_events.details") == catalogue.BY_KEY["adverse_events"].title
    assert field_label("medications.1.status") == "Traitement, ligne 2, statut"
    assert field_label("planned_discharge.at") == "Sortie prévue (date et heure)"


@pytest.mark.parametrize("key", catalogue.PRESENCE_KEYS)
def test_each_reader_names_a_presence_item_from_the_catalogue(key: str) -> None:
    from liaison.web import views

    element = catalogue.BY_KEY[key]
    assert dict(views.PRESENCE_QUESTIONS)[key] == element.question
    assert views.SECTION_LABELS[key] == element.title
    unanswered = letters.complete()
    setattr(unanswered, key, Presence())
    outcome = presence_answered(LetterView.of(unanswered, LetterFacts()), absence_statement=True, items=[key])
    assert outcome.detail == f"« {element.label} » sans réponse (présent ou aucun)"
    vague = letters.complete()
    setattr(vague, key, Presence(present=True))
    vague.devices = []
    assert (f"{key}.details", f"Précisez : {element.label}.") in {
        (p.field, p.message) for p in content_problems(vague, strict=True)
    }
