"""Reading an LDL-SES CDA written by another software: the ANS example and mutated copies."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from lxml import etree

from liaison.documents.reader import NS, CdaReadError, audit_cda_files, read_cda
from liaison.letters.content import EntryMode, ExitMode, MedicationStatus
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
    assert row["compliant"] is False and row["compliant_in_document"] is True
    assert row["not_verifiable"] == ["handed_over_same_day"]


def test_removing_discharge_treatments_fails_the_drug_criterion(tmp_path: Path) -> None:
    doc = tree()
    meds = section(doc, "1.3.6.1.4.1.19376.1.5.3.1.3.22")
    meds.getparent().getparent().remove(meds.getparent())
    path = save(doc, tmp_path, "sans-traitements.xml")
    reading = read_cda(path)
    assert [m.status for m in reading.content.medications] == [MedicationStatus.ARRETE]
    [row] = audit_cda_files([path])
    assert row["criteria"]["drug_treatment"] == "met"  # only the stopped line remains, with its reason
    doc2 = tree()
    for template in ("1.3.6.1.4.1.19376.1.5.3.1.3.22", "1.3.6.1.4.1.19376.1.5.3.1.3.21"):
        s = section(doc2, template)
        s.getparent().getparent().remove(s.getparent())
    [row] = audit_cda_files([save(doc2, tmp_path, "aucun-traitement.xml")])
    assert row["criteria"]["drug_treatment"] == "not_met" and row["compliant_in_document"] is False
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
        (b"<ClinicalDocument><oops></ClinicalDocument>", "XML illisible"),
        (b"\x00\x01garbage", "XML illisible"),
        (b"<html xmlns='http://www.w3.org/1999/xhtml'/>", "pas un document CDA"),
        (
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<ClinicalDocument xmlns="urn:hl7-org:v3"><code code="&x;"/></ClinicalDocument>',
            "XML illisible.*external entity",  # never resolved
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
    assert rows[0]["error"].startswith("XML illisible")
    assert rows[2]["error"].startswith("Fichier illisible")
    assert rows[3]["criteria"]["care_planning"] == "met"
    assert set(rows[3]["criteria"].values()) <= {r.value for r in Result}


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
        "Événement indésirable suite aux dérivés du sang (MED-148) décrit alors que "
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
    assert c.transfusion_incident == " ".join(written.transfusion_incident.split())
    assert c.blood_derivatives_incident == written.blood_derivatives_incident
    assert c.establishment.facility_type_code == written.establishment.facility_type_code
    assert c.establishment.facility_type_label == written.establishment.facility_type_label
    assert c.no_procedures_and_exams == written.no_procedures_and_exams
    assert c.procedures_and_exams == written.procedures_and_exams
    assert r.notes == []
