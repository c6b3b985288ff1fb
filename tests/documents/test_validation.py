"""Validator: the ANS example passes, injected faults are caught with readable French messages."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from lxml import etree

from liaison.documents.cda import build_cda
from liaison.documents.validation import (
    CORE,
    SCHEMATRON_FILES,
    LdlSesValidator,
    _Compiler,
    _svrl_findings,
    errors,
    xsd_message_fr,
)
from liaison.paths import ldl_ses_dir
from tests.documents import sample_letters as letters
from tests.documents.test_cda import SHAPES

NS = {"h": "urn:hl7-org:v3"}
EXAMPLE = ldl_ses_dir() / "ExemplesCDA/LDL-SES_2022.01.xml"


def built() -> etree._Element:
    return etree.fromstring(build_cda(letters.complete(), letters.meta()))


def remove(doc: etree._Element, xpath: str) -> etree._Element:
    for el in doc.xpath(xpath, namespaces=NS):
        el.getparent().remove(el)
    return doc


def test_ans_example_passes(validator: LdlSesValidator) -> None:
    findings = validator.validate(EXAMPLE)
    assert errors(findings) == []
    # The example's own narrative references are broken ("admiSang", "#NO-ALL"): warnings only.
    assert all(f.source == "liaison" for f in findings)


def _mutations() -> dict[str, tuple[etree._Element, str, str, str | None]]:
    """name → (document, expected source, expected words, expected field)."""
    out = {}
    out["no_discharge_treatments"] = (
        remove(built(), "//h:component[h:section/h:code/@code='10183-2']"),
        "volet",
        "Traitements-a-la-sortie",
        "medications",
    )
    doc = built()
    doc.xpath("//h:observation[h:code/@code='ORG-070']/h:value", namespaces=NS)[0].set("code", "999999")
    out["bad_entry_mode"] = (doc, "volet", "JDV_ModaliteEntree_CISIS", "entry_mode")
    out["no_birth_time"] = (
        remove(built(), "//h:birthTime"),
        "volet",
        "date de naissance du patient est obligatoire",
        "patient.birth_date",
    )
    doc = built()
    doc.find("h:code", NS).set("code", "11488-4")
    out["wrong_document_code"] = (doc, "volet", "11490-0", None)
    out["no_synthesis_entry"] = (
        remove(built(), "//h:entry[h:observation/h:code/@code='MED-142']"),
        "liaison",
        "synthèse médicale du séjour",
        "medical_summary",
    )
    out["no_screening_entry"] = (
        remove(built(), "//h:entry[h:observation/h:code/@code='MED-309']"),
        "liaison",
        "recherche de micro-organismes multirésistants",
        "resistant_organisms_screened",
    )
    doc = built()
    doc.xpath("//h:observation[h:code/@code='ORG-074']/h:value", namespaces=NS)[0].set("code", "999")
    out["bad_exit_mode"] = (doc, "liaison", "JDV_ModaliteSortie_CISIS", "exit_mode")
    doc = built()
    doc.find("h:title", NS).addnext(etree.Element("{urn:hl7-org:v3}bogus"))
    out["unknown_element"] = (doc, "xsd", "L'élément « bogus » n'est pas attendu", None)
    doc = built()
    doc.xpath("//h:translation[@codeSystem='2.16.840.1.113883.6.73']", namespaces=NS)[0].set(
        "code", "Z99ZZ99"
    )
    out["unknown_atc"] = (doc, "terminologie", "Z99ZZ99", "medications")
    return out


MUTATIONS = _mutations()


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_mutated_documents_fail(name: str, validator: LdlSesValidator) -> None:
    doc, source, words, field = MUTATIONS[name]
    found = [f for f in errors(validator.validate(etree.ElementTree(doc))) if f.source == source]
    assert found, validator.validate(etree.ElementTree(doc))
    assert any(words.lower() in f.message.lower() for f in found), found
    if field:
        assert any(f.field == field for f in found), found


def test_messages_are_french_and_clean(validator: LdlSesValidator) -> None:
    doc, *_ = MUTATIONS["no_birth_time"]
    for f in validator.validate(etree.ElementTree(doc)):
        assert not f.message.startswith("["), f
        assert f.location.startswith("/ClinicalDocument"), f


def test_xsd_message_fallback_is_french() -> None:
    assert xsd_message_fr("Something odd", 12).startswith("Document non conforme au schéma CDA (ligne 12)")


def test_inputs_bytes_str_path_tree(validator: LdlSesValidator, tmp_path: Path) -> None:
    cda = build_cda(letters.complete(), letters.meta())
    path = tmp_path / "cda.xml"
    path.write_bytes(cda)
    for value in (cda, cda.decode(), path, etree.ElementTree(etree.fromstring(cda))):
        assert validator.validate(value) == []
    assert validator.validate_many([cda, EXAMPLE])[0] == []


def test_cache_is_reused(cache_dir: Path, validator: LdlSesValidator) -> None:
    cached = list(cache_dir.glob("schematron-*/*.xsl"))
    assert {p.stem for p in cached} >= set(CORE)


def test_optimised_xsl_gives_the_same_failed_asserts(validator: LdlSesValidator) -> None:
    """The XSL rewrite (guards, slim SVRL) must not lose or add a finding."""
    from saxonche import PySaxonProcessor

    proc = PySaxonProcessor(license=False)
    compiler = _Compiler(proc)
    xslt = proc.new_xslt30_processor()
    sch_dir = ldl_ses_dir() / "schematrons"
    docs = [etree.parse(str(EXAMPLE)).getroot()] + [d for d, *_ in MUTATIONS.values()]
    docs += [etree.fromstring(build_cda(make(), letters.meta())) for make in SHAPES.values()]
    texts = [etree.tostring(d, encoding="unicode") for d in docs]
    for name in CORE:
        sch = (sch_dir / SCHEMATRON_FILES[name]).resolve()
        plain = xslt.compile_stylesheet(stylesheet_text=compiler.to_xsl(sch, optimise=False).decode())
        fast = xslt.compile_stylesheet(stylesheet_text=compiler.to_xsl(sch, optimise=True).decode())
        for text in texts:
            node = proc.parse_xml(xml_text=text)
            slow_f = _svrl_findings(name, plain.transform_to_string(xdm_node=node))
            fast_f = _svrl_findings(name, fast.transform_to_string(xdm_node=node))
            assert sorted(map(repr, slow_f)) == sorted(map(repr, fast_f)), name


@pytest.mark.slow
def test_full_strucmin(cache_dir: Path) -> None:
    """StrucMin (≈ 12 s to compile, 1.2 GB): every shape and the ANS example pass."""
    full = LdlSesValidator(cache_dir=cache_dir, full=True)
    assert "strucmin" in full.names
    assert errors(full.validate(EXAMPLE)) == []
    for make in SHAPES.values():
        assert full.validate(build_cda(make(), letters.meta())) == []
    doc = copy.deepcopy(MUTATIONS["no_birth_time"][0])
    assert any(f.source == "strucmin" for f in full.validate(etree.ElementTree(doc)))


@pytest.mark.parametrize(
    "xpath,words",
    [
        ("//hl7:templateId[@root='1.2.250.1.213.1.1.1.29']", "LDL-SES"),
        ("/hl7:ClinicalDocument/hl7:languageCode", "fr-FR"),
    ],
)
def test_a_letter_without_its_model_or_language_is_refused(validator, xpath, words):
    from liaison.documents.validation import errors as _errors

    tree = etree.fromstring(EXAMPLE.read_bytes())
    for el in tree.xpath(xpath, namespaces={"hl7": "urn:hl7-org:v3"}):
        el.getparent().remove(el)
    found = _errors(validator.validate(etree.ElementTree(tree)))
    assert any(words in f.message and f.source == "liaison" for f in found)
