"""CDA builder: letters of many shapes are valid against the official ANS artefacts."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree

from liaison.core.content import (
    ExitMode,
    IdentityStatus,
    ImplantedDevice,
    MedicationLine,
    MedicationStatus,
    Presence,
    Sector,
)
from liaison.documents.cda import FACILITY_TYPE, FACILITY_TYPE_CODES, CdaBuildError, DocumentId, build_cda
from liaison.documents.validation import LdlSesValidator, errors
from tests.documents import sample_letters as letters

NS = {"h": "urn:hl7-org:v3"}


def no_meds():
    c = letters.complete()
    c.medications = []
    c.no_discharge_medication = True
    return c


def all_stopped():
    c = letters.complete()
    c.medications = [m for m in c.medications if not m.taken_at_home]
    return c


def with_devices():
    c = letters.complete()
    c.implanted_devices = Presence(present=True, details="Prothèse totale de hanche droite.")
    c.devices = [
        ImplantedDevice(
            description="Prothèse totale de hanche",
            udi="(01)03401234567893(17)261231(10)LOT42",
            lot="LOT42",
            implanted_on=dt.date(2024, 11, 30),
        ),
        ImplantedDevice(description="Vis de fixation"),
    ]
    return c


def devices_without_list():
    c = letters.complete()
    c.implanted_devices = Presence(present=True, details="Stimulateur cardiaque double chambre.")
    return c


def bmr_and_blood():
    c = letters.complete()
    c.resistant_organisms = Presence(present=True, details="Klebsiella pneumoniae BLSE (urines).")
    c.transfusion = Presence(present=True, details="2 culots globulaires le 30/11, bien tolérés.")
    c.blood_derivatives = Presence(present=True, details="Albumine 20 %.")
    c.adverse_events = Presence(present=True, details="Chute sans gravité le 01/12.")
    return c


def ambulatory():
    c = letters.complete()
    c.sector = Sector.CA
    c.admission_at = dt.datetime(2024, 12, 3, 7, 30, tzinfo=letters.PARIS)
    c.emergency_contact = "Service de chirurgie ambulatoire, jour et nuit : 01 40 00 00 99"
    c.follow_up = []
    c.no_follow_up = True
    return c


def minimal():
    """Only what is required: no médecin traitant, no optional section, IPP only."""
    c = letters.complete()
    c.patient.identity_status = IdentityStatus.PROVISOIRE
    c.medecin_traitant = None
    c.no_medecin_traitant = True
    c.adverse_events = Presence()
    c.implanted_devices = Presence()
    c.allergies = Presence()
    c.pending_results = []
    c.follow_up = []
    c.recipients = []
    c.procedures_and_exams = ""
    return c


def screening_not_answered():
    """A letter written before MED-309 had its own question: no organism, search not said."""
    c = letters.complete()
    c.resistant_organisms_screened = None
    return c


def screening_not_done():
    c = letters.complete()
    c.resistant_organisms_screened = False
    return c


def bmr_screening_implied():
    c = bmr_and_blood()
    c.resistant_organisms_screened = None
    return c


def incidents():
    c = bmr_and_blood()
    c.transfusion_incident = (
        "Frissons et hyperthermie à 39 °C pendant le 2e culot.\nDéclaré à l'hémovigilance."
    )
    c.blood_derivatives_incident = "Urticaire après la perfusion d'albumine."
    return c


def no_procedures():
    c = letters.complete()
    c.procedures_and_exams = ""
    c.no_procedures_and_exams = True
    return c


def private_facility():
    c = letters.complete()
    c.establishment.facility_type_code = "SA04"
    c.establishment.facility_type_label = "Etablissement privé non PSPH"
    return c


def other_exits():
    c = letters.complete()
    c.exit_mode = ExitMode.EHPAD
    c.allergies = Presence(present=False)
    c.no_pending_results = True
    c.pending_results = []
    return c


SHAPES = {
    "complete": letters.complete,
    "no_medication": no_meds,
    "all_stopped": all_stopped,
    "devices": with_devices,
    "devices_without_list": devices_without_list,
    "bmr_and_blood": bmr_and_blood,
    "ambulatory": ambulatory,
    "minimal": minimal,
    "other_exits": other_exits,
    "screening_not_answered": screening_not_answered,
    "screening_not_done": screening_not_done,
    "bmr_screening_implied": bmr_screening_implied,
    "incidents": incidents,
    "no_procedures": no_procedures,
    "private_facility": private_facility,
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_shape_is_valid(shape: str, validator: LdlSesValidator) -> None:
    cda = build_cda(SHAPES[shape](), letters.meta())
    findings = validator.validate(cda)
    assert findings == [], findings


def test_replacement_has_rplc(validator: LdlSesValidator) -> None:
    m = letters.meta(
        id=DocumentId("1.2.250.1.999.1.1", "LLS-2024-0001-2"),
        version_number=2,
        replaces=DocumentId("1.2.250.1.999.1.1", "LLS-2024-0001-1"),
    )
    cda = build_cda(letters.complete(), m)
    assert validator.validate(cda) == []
    doc = etree.fromstring(cda)
    parent = doc.find("h:relatedDocument[@typeCode='RPLC']/h:parentDocument/h:id", NS)
    assert parent.get("extension") == "LLS-2024-0001-1"
    assert doc.find("h:versionNumber", NS).get("value") == "2"
    assert doc.find("h:setId", NS).get("extension") == "LLS-2024-0001"


def test_header_content() -> None:
    doc = etree.fromstring(build_cda(letters.complete(), letters.meta()))
    assert [t.get("root") for t in doc.findall("h:templateId", NS)] == [
        "2.16.840.1.113883.2.8.2.1",
        "1.2.250.1.213.1.1.1.1",
        "1.2.250.1.213.1.1.1.29",
    ]
    assert doc.find("h:code", NS).get("code") == "11490-0"
    ids = doc.findall("h:recordTarget/h:patientRole/h:id", NS)
    assert (ids[0].get("root"), ids[0].get("extension")) == ("1.2.250.1.213.1.4.10", letters.INS)
    assert ids[1].get("extension") == "123456"
    telecoms = [t.get("value") for t in doc.findall("h:recordTarget/h:patientRole/h:telecom", NS)]
    assert f"mailto:{letters.INS}@patient.mssante.fr" in telecoms
    author_id = doc.find("h:author/h:assignedAuthor/h:id", NS)
    assert (
        author_id.get("root") == "1.2.250.1.71.4.2.1"
        and author_id.get("extension") == "8" + letters.DR_MARTIN.rpps
    )
    custodian = doc.find("h:custodian/h:assignedCustodian/h:representedCustodianOrganization/h:id", NS)
    assert custodian.get("root") == "1.2.250.1.71.4.2.2" and custodian.get("extension").startswith("1")
    pcp = doc.find("h:participant[@typeCode='INF']/h:functionCode", NS)
    assert pcp.get("code") == "PCP"
    period = doc.find("h:documentationOf/h:serviceEvent/h:effectiveTime", NS)
    assert period.find("h:low", NS).get("value") == "20241129111700+0100"
    assert period.find("h:high", NS).get("value") == "20241203103000+0100"
    assert len(doc.findall("h:informationRecipient", NS)) == 1  # the patient is the recordTarget


def test_sections_in_order_and_references_resolve() -> None:
    doc = etree.fromstring(build_cda(bmr_and_blood(), letters.meta()))
    codes = [s.get("code") for s in doc.findall(".//h:section/h:code", NS)]
    assert codes == ["33557-0", "42349-1", "42545-4", "18610-6", "10183-2", "30954-2", "18776-5", "48765-2"]
    ids = set(doc.xpath("//h:text//@ID", namespaces=NS))
    refs = doc.xpath("//h:reference/@value", namespaces=NS)
    assert refs and all(r[1:] in ids for r in refs)
    summary = doc.xpath("//h:section[h:code/@code='42545-4']//h:observation/h:code/@code", namespaces=NS)
    assert summary == ["ORG-070", "ORG-074", "MED-142", "MED-143", "MED-309", "MED-144", "MED-145", "MED-147"]


def _summary_obs(doc: etree._Element, code: str) -> list[etree._Element]:
    return doc.xpath(
        f"//h:section[h:code/@code='42545-4']//h:observation[h:code/@code='{code}']", namespaces=NS
    )


def _narrative_of(doc: etree._Element, obs: etree._Element) -> str:
    ref = obs.find("h:text/h:reference", NS).get("value")
    [target] = doc.xpath(f"//h:text//*[@ID='{ref[1:]}']", namespaces=NS)
    return " ".join(" ".join(target.itertext()).split())


@pytest.mark.parametrize(
    ("shape", "value", "narrative"),
    [
        ("complete", {"value": "true"}, "Effectuée"),
        ("screening_not_done", {"value": "false"}, "Non effectuée"),
        ("bmr_screening_implied", {"value": "true"}, "Effectuée"),  # identified ⇒ searched
        ("screening_not_answered", {"nullFlavor": "NI"}, "Non renseignée"),
    ],
)
def test_med_309_says_whether_a_search_was_done(shape: str, value: dict[str, str], narrative: str) -> None:
    doc = etree.fromstring(build_cda(SHAPES[shape](), letters.meta()))
    [obs] = _summary_obs(doc, "MED-309")
    v = obs.find("h:value", NS)
    assert {k: v.get(k) for k in value} == value
    assert v.get("{http://www.w3.org/2001/XMLSchema-instance}type") == "BL"
    assert ("value" in v.attrib) != ("nullFlavor" in v.attrib)
    assert _narrative_of(doc, obs) == narrative


def test_med_309_is_not_the_identification() -> None:
    """Searched and nothing found: MED-309 true, no MED-144 (before, MED-309 carried "found")."""
    doc = etree.fromstring(build_cda(letters.complete(), letters.meta()))
    assert _summary_obs(doc, "MED-309")[0].find("h:value", NS).get("value") == "true"
    assert _summary_obs(doc, "MED-144") == []
    doc = etree.fromstring(build_cda(bmr_and_blood(), letters.meta()))
    [identified] = _summary_obs(doc, "MED-144")
    assert identified.find("h:value", NS).text == "Klebsiella pneumoniae BLSE (urines)."


def test_incidents_are_entries_and_narrative() -> None:
    doc = etree.fromstring(build_cda(incidents(), letters.meta()))
    summary = doc.xpath("//h:section[h:code/@code='42545-4']//h:observation/h:code/@code", namespaces=NS)
    assert summary == [
        "ORG-070", "ORG-074", "MED-142", "MED-143", "MED-309",
        "MED-144", "MED-145", "MED-146", "MED-147", "MED-148",
    ]  # fmt: skip
    [accident] = _summary_obs(doc, "MED-146")
    assert [t.get("root") for t in accident.findall("h:templateId", NS)][-1] == "1.2.250.1.213.1.1.3.48.1"
    assert accident.find("h:value", NS).text == (
        "Frissons et hyperthermie à 39 °C pendant le 2e culot. Déclaré à l'hémovigilance."
    )
    assert _narrative_of(doc, accident).startswith("Frissons et hyperthermie")
    [event] = _summary_obs(doc, "MED-148")
    assert [t.get("root") for t in event.findall("h:templateId", NS)][-1] == "1.2.250.1.213.1.1.3.48.4"
    assert _narrative_of(doc, event) == "Urticaire après la perfusion d'albumine."
    # no incident text: no MED-146 / MED-148 entry and no narrative row
    doc = etree.fromstring(build_cda(bmr_and_blood(), letters.meta()))
    assert _summary_obs(doc, "MED-146") == [] and _summary_obs(doc, "MED-148") == []
    assert not doc.xpath("//*[@ID='accident-transfusionnel' or @ID='derives-sang-evenement']")


def test_no_procedures_is_stated_in_the_narrative() -> None:
    doc = etree.fromstring(build_cda(no_procedures(), letters.meta()))
    [row] = doc.xpath("//*[@ID='actes-examens']")
    assert "".join(row.itertext()) == "Aucun acte ni examen complémentaire."
    doc = etree.fromstring(build_cda(minimal(), letters.meta()))  # neither text nor flag: no row
    assert not doc.xpath("//*[@ID='actes-examens']")


def test_facility_type_comes_from_the_establishment() -> None:
    path = "h:componentOf/h:encompassingEncounter/h:location/h:healthCareFacility/h:code"
    code = etree.fromstring(build_cda(letters.complete(), letters.meta())).find(path, NS)
    assert (code.get("code"), code.get("codeSystem"), code.get("displayName")) == (
        "SA01",
        "1.2.250.1.71.4.2.4",
        "Etablissement public de santé",
    )
    code = etree.fromstring(build_cda(private_facility(), letters.meta())).find(path, NS)
    assert (code.get("code"), code.get("displayName")) == ("SA04", "Etablissement privé non PSPH")
    assert not hasattr(letters.meta(), "facility_type")


def test_facility_codes_are_the_strucmin_value_set() -> None:
    """FACILITY_TYPE_CODES = the establishment codes of JDV_J02 as StrucMin reads it."""
    from liaison.paths import ldl_ses_dir

    voc = (
        ldl_ses_dir()
        / "schematrons/profils/structurationMinimale/include/voc-1.2.250.1.213.1.1.5.466-DYNAMIC.xml"
    )
    concepts = {c.get("code"): c.get("codeSystem") for c in etree.parse(str(voc)).iter("concept")}
    establishments = {code for code, system in concepts.items() if system == FACILITY_TYPE}
    assert establishments == FACILITY_TYPE_CODES
    assert set(concepts) - establishments == {"EXP_PATIENT", "SNR"}


def test_no_medication_is_explicit() -> None:
    doc = etree.fromstring(build_cda(no_meds(), letters.meta()))
    sec = doc.xpath("//h:section[h:code/@code='10183-2']", namespaces=NS)[0]
    assert "Aucun traitement" in "".join(sec.find("h:text", NS).itertext())
    assert sec.find(".//h:substanceAdministration/h:code", NS).get("code") == "no-known-medications"
    assert not doc.xpath("//h:section[h:code/@code='18610-6']", namespaces=NS)


def test_stopped_treatment_reason_in_narrative() -> None:
    doc = etree.fromstring(build_cda(letters.complete(), letters.meta()))
    sec = doc.xpath("//h:section[h:code/@code='18610-6']", namespaces=NS)[0]
    text = " ".join(sec.find("h:text", NS).itertext())
    assert "IBUPROFENE" in text and "Insuffisance rénale aiguë" in text and "Arrêté" in text
    home = doc.xpath("//h:section[h:code/@code='10183-2']//h:substanceAdministration", namespaces=NS)
    assert len(home) == 3
    cis = doc.xpath("//h:manufacturedMaterial/h:code[@codeSystem='1.2.250.1.213.2.3.1']", namespaces=NS)
    assert cis[0].get("code") == "60234100"
    assert cis[0].find("h:translation", NS).get("code") == "B01AC06"


def test_build_is_deterministic() -> None:
    assert build_cda(letters.complete(), letters.meta()) == build_cda(letters.complete(), letters.meta())


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda c: setattr(c.patient, "birth_date", None), "patient.birth_date", "Date de naissance"),
        (lambda c: setattr(c, "discharge_at", None), "discharge_at", "Date de sortie"),
        (lambda c: setattr(c, "reason", " "), "reason", "Motif"),
        (lambda c: setattr(c, "medical_summary", ""), "medical_summary", "Synthèse médicale"),
        (lambda c: setattr(c, "entry_mode", None), "entry_mode", "Modalité d'entrée"),
        (lambda c: setattr(c, "transfusion", Presence()), "transfusion", "transfusion"),
        (
            lambda c: setattr(c, "resistant_organisms", Presence(present=True)),
            "resistant_organisms.details",
            "BMR",
        ),
        (lambda c: setattr(c, "medications", []), "medications", "aucun traitement à la sortie"),
        (
            lambda c: c.medications.append(MedicationLine(medicine="X", status=MedicationStatus.ARRETE)),
            "medications.4.reason",
            "motif",
        ),
        (
            lambda c: setattr(c.patient, "birth_place_cog", None),
            "patient.birth_place_cog",
            "Lieu de naissance",
        ),
        (
            lambda c: setattr(c, "transfusion_incident", "Frissons"),
            "transfusion_incident",
            "Accident transfusionnel décrit alors que la transfusion",
        ),
        (
            lambda c: setattr(c, "blood_derivatives_incident", "Urticaire"),
            "blood_derivatives_incident",
            "dérivés du sang n'est pas déclarée",
        ),
        (
            lambda c: (
                setattr(c, "resistant_organisms", Presence(present=True, details="SARM")),
                setattr(c, "resistant_organisms_screened", False),
            ),
            "resistant_organisms_screened",
            "recherche est déclarée non effectuée",
        ),
        (
            lambda c: setattr(c.establishment, "facility_type_code", "SA11"),
            "establishment.facility_type_code",
            "JDV_J02_XdsHealthcareFacilityTypeCode_CISIS",
        ),
        (
            lambda c: setattr(c.establishment, "facility_type_label", " "),
            "establishment.facility_type_label",
            "type d'établissement",
        ),
    ],
)
def test_builder_refuses_missing_data(change, field: str, words: str) -> None:
    c = letters.complete()
    change(c)
    with pytest.raises(CdaBuildError) as err:
        build_cda(c, letters.meta())
    assert field in err.value.fields
    assert words in str(err.value)


def test_builder_refuses_document_dated_before_admission() -> None:
    early = dt.datetime(2024, 11, 28, tzinfo=letters.PARIS)
    with pytest.raises(CdaBuildError, match="avant l'entrée"):
        build_cda(letters.complete(), letters.meta(effective_time=early))


def test_letter_signed_before_the_patient_leaves_is_accepted() -> None:
    morning = dt.datetime(2024, 12, 3, 9, 0, tzinfo=letters.PARIS)  # discharge at 10:30
    assert build_cda(letters.complete(), letters.meta(effective_time=morning, signed_at=morning))


def test_builder_refuses_naive_datetimes() -> None:
    c = letters.complete()
    c.discharge_at = dt.datetime(2024, 12, 3, 10, 30)
    with pytest.raises(CdaBuildError, match="fuseau"):
        build_cda(c, letters.meta())


def test_errors_helper(validator: LdlSesValidator) -> None:
    assert errors(validator.validate(build_cda(letters.complete(), letters.meta()))) == []
