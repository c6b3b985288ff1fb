"""Reading an LDL-SES CDA written by another software: the ANS example and mutated copies."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from lxml import etree

from liaison.core.content import EntryMode, ExitMode, MedicationStatus
from liaison.documents.reader import NS, CdaReadError, audit_cda_files, read_cda
from liaison.paths import ldl_ses_dir
from liaison.quality.evaluate import evaluate
from liaison.quality.grid import load_grid
from liaison.quality.rules import Result

EXAMPLE = ldl_ses_dir() / "ExemplesCDA" / "LDL-SES_2022.01.xml"
ENTRY_EXAMPLE = ldl_ses_dir() / "ExemplesCDA" / "LDL-EES_2022.01.xml"


def tree() -> etree._ElementTree:
    return etree.parse(str(EXAMPLE))


def section(doc: etree._ElementTree, template: str) -> etree._Element:
    [s] = doc.xpath(f"//cda:section[cda:templateId/@root='{template}']", namespaces=NS)
    return s


def save(doc: etree._ElementTree, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    doc.write(str(path), xml_declaration=True, encoding="UTF-8")
    return path


def test_ans_example_is_read_from_its_entries() -> None:
    r = read_cda(EXAMPLE)
    c, f = r.content, r.facts
    assert (c.patient.birth_family_name, c.patient.first_given_name) == ("PAT-TROIS", "DOMINIQUE")
    assert c.patient.birth_date == dt.date(1979, 3, 28) and c.patient.ins_oid == "1.2.250.1.213.1.4.10"
    assert c.medecin_traitant is not None and c.medecin_traitant.family_name == "MEDIONI"
    assert c.responsible_physician is not None and c.responsible_physician.family_name == "AUGUIN"
    assert c.admission_at == dt.datetime(2019, 10, 29, 11, 17, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert c.discharge_at is not None and c.discharge_at.date() == dt.date(2019, 12, 3)
    assert c.entry_mode is EntryMode.TRANSFERT  # ORG-070 107724000
    assert c.exit_mode is ExitMode.AUTRE_ES  # ORG-074 GEN-092.06.01
    assert c.reason == "Episode psychotique – cachexie/anorexie"
    assert c.medical_summary == "Infection respiratoire aigüe"  # MED-142
    assert c.adverse_events.present is False  # MED-143 "Aucun"
    assert (
        c.resistant_organisms.present is True and c.resistant_organisms.details == "Streptococcus pneumoniae"
    )
    assert c.resistant_organisms_screened is True  # MED-309 true
    assert c.transfusion.present is False and c.blood_derivatives.present is False  # MED-145 / MED-147
    assert c.transfusion_incident == "" and c.blood_derivatives_incident == ""  # MED-146 / MED-148 "Aucun"
    assert (c.establishment.facility_type_code, c.establishment.facility_type_label) == (
        "SA01",
        "Etablissement public de santé",
    )
    assert c.implanted_devices.present is True and len(c.devices) == 1
    [discharge, stopped] = c.medications
    assert (discharge.medicine, discharge.cis, discharge.atc) == ("LEPONEX 100 mg", "62552920", "N05AH02")
    assert (
        discharge.dosage == "1 comprimé, 1 fois / jour"
        and discharge.duration == "du 03/12/2019 au 02/02/2020"
    )
    assert stopped.status is MedicationStatus.ARRETE and stopped.reason == "arrêt suite à analyses médicales"
    assert [p.description for p in c.pending_results] == ["Echographie attendue"]
    assert len(c.follow_up) == 3
    assert f.signed_at == c.discharge_at and f.signer_profession == "medecin"
    assert f.handed_over_at is None and f.letter_id == "1.2.250.1.213.1.1.1.29.2022.1.1"
    assert r.notes == []


def test_ans_example_graded_with_v2() -> None:
    reading = read_cda(EXAMPLE)
    e = evaluate(reading.content, reading.facts, load_grid("qls/mco/v2-2022"))
    # everything is in the document; only the hand-over cannot be read from a CDA
    assert [p.id for p in e.problems()] == ["handed_over_same_day"]
    [row] = audit_cda_files([EXAMPLE])
    # the document cannot show the hand-over nor that it was found in the record: not « non conforme »
    assert row["compliant"] is None and row["compliant_on_content"] is True
    assert row["criteria"]["handed_over_same_day"] is None and row["criteria"]["found"] is None
    assert row["not_verifiable"] == [
        {"criterion": "found", "explanation": "non vérifiable sur le document"},
        {"criterion": "handed_over_same_day", "explanation": "non vérifiable sur le document"},
    ]
    assert row["problems"] == [] and row["medication_source"] == "entries"


def test_removing_discharge_treatments_fails_the_drug_criterion(tmp_path: Path) -> None:
    doc = tree()
    meds = section(doc, "1.3.6.1.4.1.19376.1.5.3.1.3.22")
    meds.getparent().getparent().remove(meds.getparent())
    path = save(doc, tmp_path, "sans-traitements.xml")
    reading = read_cda(path)
    assert [m.status for m in reading.content.medications] == [MedicationStatus.ARRETE]
    [row] = audit_cda_files([path])
    # the drug stopped during the stay is not a discharge treatment
    assert row["criteria"]["drug_treatment"] == "not_met" and row["compliant"] is False
    assert row["medication_source"] == "absent"
    [problem] = [p for p in row["problems"] if p["criterion"] == "drug_treatment"]
    assert "seuls des médicaments arrêtés" in problem["explanation"]
    doc2 = tree()
    for template in ("1.3.6.1.4.1.19376.1.5.3.1.3.22", "1.3.6.1.4.1.19376.1.5.3.1.3.21"):
        s = section(doc2, template)
        s.getparent().getparent().remove(s.getparent())
    [row] = audit_cda_files([save(doc2, tmp_path, "aucun-traitement.xml")])
    assert row["criteria"]["drug_treatment"] == "not_met" and row["compliant_on_content"] is False
    [problem] = [p for p in row["problems"] if p["criterion"] == "drug_treatment"]
    assert problem["field"] == "medications"


def test_narrative_fallbacks(tmp_path: Path) -> None:
    doc = tree()
    summary = section(doc, "1.3.6.1.4.1.19376.1.7.3.1.1.13.7")
    for code in ("ORG-070", "MED-142"):
        [obs] = summary.xpath(f"cda:entry[cda:observation/cda:code/@code='{code}']", namespaces=NS)
        summary.remove(obs)
    meds = section(doc, "1.3.6.1.4.1.19376.1.5.3.1.3.22")
    for entry in meds.xpath("cda:entry", namespaces=NS):
        meds.remove(entry)
    [text] = meds.xpath("cda:text", namespaces=NS)
    text.clear()
    text.text = "Aucun traitement médicamenteux à la sortie."
    reading = read_cda(save(doc, tmp_path, "narratif.xml"))
    assert reading.medication_source == "narrative_none"
    assert reading.content.entry_mode is None  # the narrative cell was only referenced by the entry
    assert "Infection respiratoire aigüe" in reading.content.medical_summary
    assert any("texte de la section" in n for n in reading.notes)
    assert reading.content.no_discharge_medication is True
    assert all(m.status is MedicationStatus.ARRETE for m in reading.content.medications)


def test_not_a_discharge_letter(tmp_path: Path) -> None:
    with pytest.raises(CdaReadError, match="18761-7"):
        read_cda(ENTRY_EXAMPLE)
    doc = tree()
    [code] = doc.xpath("/cda:ClinicalDocument/cda:code", namespaces=NS)
    code.set("code", "34133-9")
    with pytest.raises(CdaReadError, match="n'est pas une lettre de liaison à la sortie : code 34133-9"):
        read_cda(save(doc, tmp_path, "code.xml"))
    doc = tree()
    [tid] = doc.xpath("/cda:ClinicalDocument/cda:templateId[@root='1.2.250.1.213.1.1.1.29']", namespaces=NS)
    tid.getparent().remove(tid)
    with pytest.raises(CdaReadError, match="templateId 1.2.250.1.213.1.1.1.29 absent"):
        read_cda(save(doc, tmp_path, "template.xml"))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<ClinicalDocument><oops></ClinicalDocument>", "n'est pas un XML bien formé"),
        (b"\x00\x01garbage", "n'est pas un XML bien formé"),
        (b"<html xmlns='http://www.w3.org/1999/xhtml'/>", "pas un document CDA"),
        (
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<ClinicalDocument xmlns="urn:hl7-org:v3"><code code="&x;"/></ClinicalDocument>',
            "déclare une DTD",  # refused before anything is resolved
        ),
    ],
)
def test_unreadable_inputs(data: bytes, message: str) -> None:
    with pytest.raises(CdaReadError, match=message):
        read_cda(data)


def test_batch_goes_on_after_a_bad_file(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.xml"
    garbage.write_bytes(b"not xml at all")
    rows = audit_cda_files([garbage, ENTRY_EXAMPLE, tmp_path / "absent.xml", EXAMPLE])
    assert [("error" in r) for r in rows] == [True, True, True, False]
    assert "n'est pas un XML bien formé" in rows[0]["error"]
    assert rows[2]["error"].endswith("absent.xml n'existe pas.")
    assert rows[3]["criteria"]["care_planning"] == "met"
    assert set(rows[3]["criteria"].values()) <= {r.value for r in Result} | {None}


def _obs(doc: etree._ElementTree, code: str) -> etree._Element:
    [obs] = doc.xpath(f"//cda:observation[cda:code/@code='{code}']", namespaces=NS)
    return obs


def test_screening_incidents_and_facility_from_a_foreign_document(tmp_path: Path) -> None:
    doc = tree()
    value = _obs(doc, "MED-309").find("cda:value", NS)
    del value.attrib["value"]
    value.set("nullFlavor", "UNK")
    _obs(doc, "MED-145").find("cda:value", NS).set("value", "true")
    _obs(doc, "MED-146").find("cda:value", NS).text = "Réaction fébrile non hémolytique"
    _obs(doc, "MED-148").find("cda:value", NS).text = "Urticaire"  # MED-147 stays false
    [code] = doc.xpath("//cda:healthCareFacility/cda:code", namespaces=NS)
    code.set("code", "SA03")
    code.set("displayName", "Etablissement privé PSPH")
    r = read_cda(save(doc, tmp_path, "incidents.xml"))
    c = r.content
    assert c.resistant_organisms_screened is None  # nullFlavor: the document does not say
    assert c.resistant_organisms.present is True  # MED-144 is still there
    assert c.transfusion.present is True and c.transfusion_incident == "Réaction fébrile non hémolytique"
    assert c.blood_derivatives.present is False and c.blood_derivatives_incident == "Urticaire"
    assert r.notes == [
        "Événement indésirable après les dérivés du sang (MED-148) décrit alors que "
        "« administration de dérivés du sang » (MED-147) n'est pas déclarée."
    ]
    assert (c.establishment.facility_type_code, c.establishment.facility_type_label) == (
        "SA03",
        "Etablissement privé PSPH",
    )


def test_screening_done_nothing_found(tmp_path: Path) -> None:
    doc = tree()
    _obs(doc, "MED-309").find("cda:value", NS).set("value", "false")
    med_144 = _obs(doc, "MED-144").getparent()
    med_144.getparent().remove(med_144)
    c = read_cda(save(doc, tmp_path, "sans-bmr.xml")).content
    assert c.resistant_organisms_screened is False and c.resistant_organisms.present is False


@pytest.mark.parametrize(
    "shape",
    [
        "complete",
        "incidents",
        "screening_not_answered",
        "screening_not_done",
        "no_procedures",
        "private_facility",
    ],
)
def test_our_own_documents_read_back(shape: str) -> None:
    from tests.documents import sample_letters as letters
    from tests.documents.test_cda import SHAPES

    from liaison.documents.cda import build_cda

    written = SHAPES[shape]()
    r = read_cda(build_cda(written, letters.meta()))
    c = r.content
    assert c.resistant_organisms_screened == written.resistant_organisms_screened
    assert c.resistant_organisms.present == written.resistant_organisms.present
    assert c.transfusion_incident == written.transfusion_incident  # its lines kept
    assert c.blood_derivatives_incident == written.blood_derivatives_incident
    assert c.establishment.facility_type_code == written.establishment.facility_type_code
    assert c.establishment.facility_type_label == written.establishment.facility_type_label
    assert c.no_procedures_and_exams == written.no_procedures_and_exams
    assert c.procedures_and_exams == written.procedures_and_exams
    assert r.notes == []


# --- one element of the ANS example changed at a time ---------------------------------------------

DISCHARGE = "1.3.6.1.4.1.19376.1.5.3.1.3.22"
STOPPED = "1.3.6.1.4.1.19376.1.5.3.1.3.21"
REASON = "1.3.6.1.4.1.19376.1.5.3.1.3.1"


def grade(doc: etree._ElementTree, tmp_path: Path, name: str = "lettre.xml") -> dict:
    [row] = audit_cda_files([save(doc, tmp_path, name)])
    return row


def problem(row: dict, criterion: str) -> str:
    return next(p["explanation"] for p in row["problems"] if p["criterion"] == criterion)


@pytest.mark.parametrize("none", ["Aucun", "Néant", "RAS", "R.A.S.", "Rien à signaler", "Sans objet", "-"])
def test_a_reason_saying_none_is_not_a_reason(tmp_path: Path, none: str) -> None:
    doc = tree()
    [td] = section(doc, REASON).xpath("cda:text//cda:td", namespaces=NS)
    td.text = none
    row = grade(doc, tmp_path)
    assert row["criteria"]["reason"] == "not_met" and row["compliant"] is False
    assert f"« {none} » ne répond pas à la question" in problem(row, "reason")


def test_a_summary_saying_none_is_not_a_summary(tmp_path: Path) -> None:
    doc = tree()
    _obs(doc, "MED-142").find("cda:value", NS).text = "RAS"
    row = grade(doc, tmp_path)
    assert row["criteria"]["medical_summary"] == "not_met"
    assert [k for k, v in row["criteria"].items() if v == "not_met"] == ["medical_summary"]


def _without_entries(doc: etree._ElementTree, template: str) -> etree._Element:
    s = section(doc, template)
    for entry in s.xpath("cda:entry", namespaces=NS):
        s.remove(entry)
    return s


def test_discharge_treatment_graded_from_its_narrative_table(tmp_path: Path) -> None:
    doc = tree()
    _without_entries(doc, DISCHARGE)
    row = grade(doc, tmp_path)
    assert row["medication_source"] == "narrative_table" and row["criteria"]["drug_treatment"] == "met"
    assert any("tableau du texte de la section, par ses colonnes" in n for n in row["notes"])
    reading = read_cda(save(doc, tmp_path, "table.xml"))
    discharge = [m for m in reading.content.medications if m.taken_at_home]
    assert [(m.medicine, m.dosage, m.duration) for m in discharge] == [
        ("LEPONEX 100 mg", "1 comprimé, 1 fois / jour", "du 03/12/2019 au 02/02/2020")
    ]


@pytest.mark.parametrize(
    ("header", "expected"),
    [("Dose", "posologie absente"), ("Fréquence", None), ("Date de fin", "durée absente")],
)
def test_narrative_table_column_emptied(tmp_path: Path, header: str, expected: str | None) -> None:
    """One cell emptied at a time: no dose → no dosage at all only when the frequency is gone too;
    no end date → no duration."""
    doc = tree()
    s = _without_entries(doc, DISCHARGE)
    headers = [th.text for th in s.xpath("cda:text//cda:thead//cda:th", namespaces=NS)]
    [tr] = s.xpath("cda:text//cda:tbody/cda:tr", namespaces=NS)
    tds = tr.xpath("cda:td", namespaces=NS)
    tds[headers.index(header)].text = ""
    if header == "Dose":
        tds[headers.index("Fréquence")].text = ""
    row = grade(doc, tmp_path)
    if expected is None:  # the dose alone is a dosage
        assert row["criteria"]["drug_treatment"] == "met"
    else:
        assert row["criteria"]["drug_treatment"] == "not_met" and expected in problem(row, "drug_treatment")


def test_narrative_text_only_is_said(tmp_path: Path) -> None:
    doc = tree()
    s = _without_entries(doc, DISCHARGE)
    [text] = s.xpath("cda:text", namespaces=NS)
    text.clear()
    text.text = "LEPONEX 100 mg un comprimé par jour pendant deux mois"
    row = grade(doc, tmp_path)
    assert row["medication_source"] == "narrative_text"
    assert row["criteria"]["drug_treatment"] == "not_met"  # dose and duration not separable
    assert any("texte libre" in n for n in row["notes"])


def test_sections_found_by_code_and_template_never_by_title(tmp_path: Path) -> None:
    doc = tree()
    for template in (DISCHARGE, STOPPED, REASON):
        [title] = section(doc, template).xpath("cda:title", namespaces=NS)
        title.text = "Divers"
    c = read_cda(save(doc, tmp_path, "titres.xml")).content
    assert [m.status for m in c.medications] == [None, MedicationStatus.ARRETE]
    assert c.reason == "Episode psychotique – cachexie/anorexie"
    # templateIds gone: the LOINC code 10183-2 still finds the discharge treatment
    s = section(doc, DISCHARGE)
    for tid in s.xpath("cda:templateId", namespaces=NS):
        s.remove(tid)
    reading = read_cda(save(doc, tmp_path, "loinc.xml"))
    assert (
        reading.medication_source == "entries" and reading.content.medications[0].medicine == "LEPONEX 100 mg"
    )


def test_null_flavored_sections(tmp_path: Path) -> None:
    doc = tree()
    s = section(doc, REASON)
    [text] = s.xpath("cda:text", namespaces=NS)
    s.remove(text)
    s.set("nullFlavor", "NASK")
    d = _without_entries(doc, DISCHARGE)
    [text] = d.xpath("cda:text", namespaces=NS)
    text.clear()
    d.set("nullFlavor", "UNK")
    row = grade(doc, tmp_path)
    assert row["criteria"]["reason"] == "not_met" and row["criteria"]["drug_treatment"] == "not_met"
    assert row["medication_source"] == "empty"


def test_prefixed_namespace_reads_the_same(tmp_path: Path) -> None:
    """Some systems write <hl7:ClinicalDocument xmlns:hl7="urn:hl7-org:v3">: same reading."""
    import re

    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace('xmlns="urn:hl7-org:v3"', 'xmlns:hl7="urn:hl7-org:v3"')
    text = re.sub(r"<(/?)([A-Za-z][\w.-]*)(?=[\s/>])", r"<\1hl7:\2", text)
    path = tmp_path / "prefixe.xml"
    path.write_text(text, encoding="utf-8")
    assert "<hl7:ClinicalDocument" in text and "<ClinicalDocument" not in text
    assert read_cda(path).content == read_cda(EXAMPLE).content
    [row] = audit_cda_files([path])
    assert row["compliant_on_content"] is True and row["medication_source"] == "entries"
