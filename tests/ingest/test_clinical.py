"""Clinical feeds (ORU^R01, OMP^O09, RDE^O11, DG1/PR1/AL1 in ADT) into the stay's record."""

from __future__ import annotations

import pytest

from liaison.clinical import feeds
from liaison.clinical.models import Allergy, Diagnosis, LabResult, Prescription, Procedure
from liaison.ingest import clinical
from liaison.ingest.apply import process
from liaison.ingest.hl7v2 import HL7Error
from liaison.ingest.models import InboundMessage
from liaison.letters.models import AuditEvent, Stay
from tests.ingest.messages import FINESS_EG, adt

pytestmark = pytest.mark.django_db

SENT = "202611121000"
BIOLOGIST = "10000009&BIOLOGISTE&Anne"


def lab(control: str, orders: list[feeds.LabOrder], nda: str = "NDA100", ipp: str = "IPP100") -> str:
    return feeds.oru(
        control, ipp=ipp, nda=nda, facility=FINESS_EG, orders=orders, sent=SENT, biologist=BIOLOGIST
    )


def meds(control: str, orders: list[feeds.MedOrder], message: str = "RDE") -> str:
    return feeds.pharmacy(
        control,
        ipp="IPP100",
        nda="NDA100",
        facility=FINESS_EG,
        orders=orders,
        sent=SENT,
        message=message,
        prescriber="10000017^PRESCRIPTEUR^Paul^^^Dr",
    )


BLOOD = feeds.LabOrder(
    "DEM1",
    "24360-0",
    "Hémogramme",
    "F",
    "202611110700",
    [
        feeds.Obs("718-7", "Hémoglobine", "9.2", "g/dL", "12-16", "L"),
        feeds.Obs("777-3", "Plaquettes", "250", "G/L", "150-400"),
    ],
)
CULTURE = feeds.LabOrder("DEM2", "600-7", "Hémoculture", "I", "202611110700")


def accepted(text: str) -> InboundMessage:
    out = process(text)
    assert out.code == "AA", out.reason
    return InboundMessage.objects.get(pk=out.message_id)


def refused(text: str) -> str:
    out = process(text)
    assert out.code in ("AE", "AR") and out.outcome == "refused", out.reason
    assert "\rERR|" in out.ack
    return out.reason


@pytest.fixture
def stay(hospital):
    accepted(adt("A01", "ADM1"))
    return Stay.objects.get(visit_number="NDA100")


def test_parse_results_pending_and_flags():
    msg = clinical.parse_message(lab("R1", [BLOOD, CULTURE]))
    assert isinstance(msg, clinical.ClinicalMessage) and msg.kind == "ORU^R01"
    blood, culture = msg.facts.results
    assert blood.status == "final" and blood.author == "Anne BIOLOGISTE"
    assert [(o.code.code, o.value, o.abnormal_flag) for o in blood.observations] == [
        ("718-7", "9.2", "L"),
        ("777-3", "250", ""),
    ]
    assert culture.status == "pending" and culture.observations == ()


def test_parse_pharmacy_kinds_dosage_route():
    orders = [
        feeds.MedOrder("P1", "66340498", "AMLODIPINE ARROW 5 mg", "1", "gélule", "QD", "PO", kind="H"),
        feeds.MedOrder(
            "P2", "60192594", "FUROSEMIDE ARROW 40 mg", "0.5", "comprimé", "BID", kind="O", duration_days=30
        ),
        feeds.MedOrder("P3", "60782303", "LOVENOX", "1", "seringue", "QD", "SC", kind="I", control="DC"),
    ]
    for message in ("RDE", "OMP"):
        entry, discharge, stay_order = clinical.parse_message(meds("M1", orders, message)).facts.prescriptions
        assert (entry.kind, entry.dosage, entry.route) == ("entree", "1 gélule 1 fois par jour", "voie orale")
        assert (discharge.kind, discharge.dosage, discharge.duration) == (
            "sortie",
            "0,5 comprimé 2 fois par jour",
            "30 jours",
        )
        assert (stay_order.kind, stay_order.state, stay_order.route) == (
            "sejour",
            "stopped",
            "voie sous-cutanée",
        )
        assert discharge.prescriber == "Dr Paul PRESCRIPTEUR"


def test_parse_refuses_unreadable_dosage_and_unknown_type():
    bad = feeds.MedOrder("P1", "66340498", "AMLODIPINE", "un", "gélule")
    with pytest.raises(HL7Error, match="Posologie illisible"):
        clinical.parse_message(meds("M1", [bad]))
    odd = feeds.MedOrder("P1", "66340498", "AMLODIPINE", "1", "gélule", frequency="XYZ")
    with pytest.raises(HL7Error, match="rythme d'administration"):
        clinical.parse_message(meds("M1", [odd]))
    with pytest.raises(HL7Error, match="non pris en charge") as exc:
        clinical.parse_message(lab("R1", [BLOOD]).replace("ORU^R01^ORU_R01", "ORU^R30"))
    assert exc.value.ack_code == "AR"


def test_results_recorded_with_source_and_pending_replaced(stay):
    row = accepted(lab("R1", [BLOOD, CULTURE]))
    results = {r.code: r for r in LabResult.objects.filter(stay=stay)}
    assert set(results) == {"718-7", "777-3", "600-7"}
    hb = results["718-7"]
    assert (hb.value, hb.unit, hb.abnormal_flag, hb.status) == ("9.2", "g/dL", "L", "final")
    assert (hb.source_id, hb.source_kind, hb.source_author) == (row.pk, "ORU^R01", "Anne BIOLOGISTE")
    assert results["600-7"].status == "pending" and results["600-7"].value == ""
    # The culture comes back: the pending row is replaced by the result.
    grown = feeds.LabOrder(
        "DEM2",
        "600-7",
        "Hémoculture",
        "F",
        "202611110700",
        [feeds.Obs("600-7", "Hémoculture", "Escherichia coli", value_type="ST", flag="A")],
    )
    accepted(lab("R2", [grown]))
    culture = LabResult.objects.get(stay=stay, code="600-7")
    assert culture.status == "final" and culture.value == "Escherichia coli" and culture.abnormal_flag == "A"
    assert LabResult.objects.filter(stay=stay).count() == 3
    assert (
        AuditEvent.objects.filter(object_type="stay", object_id=str(stay.pk), why__contains="ORU^R01").count()
        == 2
    )


def test_duplicate_applied_once(stay):
    text = lab("R1", [BLOOD])
    accepted(text)
    again = process(text)
    assert again.code == "AA" and again.outcome == "duplicate"
    assert LabResult.objects.filter(stay=stay).count() == 2


def test_unknown_stay_and_wrong_patient_refused_and_kept(stay):
    reason = refused(lab("R1", [BLOOD], nda="NDA999"))
    assert "Séjour inconnu" in reason and "NDA999" in reason
    reason = refused(lab("R2", [BLOOD], ipp="IPP999"))
    assert "appartient au patient IPP IPP100" in reason
    kept = InboundMessage.objects.get(control_id="R1")
    assert kept.outcome == "refused" and kept.raw.startswith("MSH|") and kept.message_type == "ORU"
    assert not LabResult.objects.exists()


def test_prescriptions_by_kind_with_bdpm_codes(stay):
    orders = [
        feeds.MedOrder("P1", "66340498", "", "1", "gélule", "QD", kind="H"),
        feeds.MedOrder("P2", "3400926784102", "", "1", "comprimé", "BID", kind="O", system="CIP"),
        feeds.MedOrder("P3", "B01AB05", "Énoxaparine", "1", "seringue", "QD", "SC", kind="I", system="ATC"),
    ]
    accepted(meds("M1", orders))
    by_number = {p.order_number: p for p in Prescription.objects.filter(stay=stay)}
    assert by_number["P1"].kind == "entree" and by_number["P1"].medicine == "AMLODIPINE ARROW 5 mg, gélule"
    assert by_number["P1"].atc == "C08CA01"
    eliquis = by_number["P2"]
    assert (eliquis.kind, eliquis.cip13, eliquis.cis) == ("sortie", "3400926784102", "61902218")
    assert eliquis.medicine.startswith("ELIQUIS 5 mg") and eliquis.source_author == "Dr Paul PRESCRIPTEUR"
    assert (by_number["P3"].atc, by_number["P3"].route) == ("B01AB05", "voie sous-cutanée")
    # The stay prescription is stopped, then withdrawn.
    accepted(
        meds(
            "M2",
            [
                feeds.MedOrder(
                    "P3", "B01AB05", "Énoxaparine", "1", "seringue", kind="I", system="ATC", control="DC"
                )
            ],
        )
    )
    assert Prescription.objects.get(stay=stay, order_number="P3").state == "stopped"
    accepted(
        meds(
            "M3",
            [
                feeds.MedOrder(
                    "P3", "B01AB05", "Énoxaparine", "1", "seringue", kind="I", system="ATC", control="CA"
                )
            ],
        )
    )
    assert not Prescription.objects.filter(stay=stay, order_number="P3").exists()


def test_unknown_medicine_refuses_whole_message(stay):
    orders = [
        feeds.MedOrder("P1", "66340498", "AMLODIPINE", "1", "gélule", kind="H"),
        feeds.MedOrder("P2", "69999999", "INCONNU", "1", "comprimé", kind="O"),
    ]
    reason = refused(meds("M1", orders))
    assert "Code médicament inconnu" in reason and "69999999" in reason
    assert not Prescription.objects.exists()  # the first line is not kept either


def test_malformed_segments_refused(stay):
    text = lab("R1", [BLOOD])
    reason = refused(text.replace("|9.2|g/dL|12-16|L|", "|neuf|g/dL|12-16|L|"))
    assert "Valeur numérique illisible en OBX-5 (Hémoglobine)" in reason
    reason = refused(text.replace("|12-16|L|", "|12-16|ZZ|"))
    assert "Indicateur d'anomalie inconnu en OBX-8" in reason
    reason = refused(text.replace("\rOBR|", "\rZOB|"))
    assert "OBX sans OBR" in reason
    assert not LabResult.objects.exists()


def test_diagnoses_procedures_allergies_in_a08_replace_the_lists(stay):
    coded = [
        feeds.dg1(1, "I50.0", "Insuffisance cardiaque congestive", True),
        feeds.dg1(2, "I10", "Hypertension essentielle", False),
        feeds.pr1(1, "DEQP003", "Électrocardiographie sur au moins 12 dérivations", "202611101000"),
        feeds.al1(1, "J01CA04", "Amoxicilline", "DA", "SV", "urticaire"),
    ]
    accepted(adt("A08", "U1") + "\r" + "\r".join(coded))
    principal = Diagnosis.objects.get(stay=stay, principal=True)
    assert (principal.code, principal.source_kind) == ("I50.0", "ADT^A08")
    assert Diagnosis.objects.filter(stay=stay).count() == 2
    assert Procedure.objects.get(stay=stay).code == "DEQP003"
    allergy = Allergy.objects.get(stay=stay)
    assert (allergy.label, allergy.severity, allergy.reaction, allergy.kind) == (
        "Amoxicilline",
        "sévère",
        "urticaire",
        "médicament",
    )
    # The A03 recodes the stay: its DG1 list replaces the previous one; no AL1, allergies kept.
    accepted(
        adt("A03", "D1", discharge="202611141500")
        + "\r"
        + feeds.dg1(1, "J18.9", "Pneumopathie, sans précision", True)
    )
    assert list(Diagnosis.objects.filter(stay=stay).values_list("code", flat=True)) == ["J18.9"]
    assert Allergy.objects.filter(stay=stay).count() == 1
    stay.refresh_from_db()
    assert stay.discharge_at is not None


def test_bad_cim10_code_refuses_the_a08_without_identity_change(stay):
    reason = refused(adt("A08", "U1", family="DURAND") + "\r" + feeds.dg1(1, "XYZ", "?", True))
    assert "CIM-10" in reason
    assert stay.patient.birth_family_name == "MARTIN"
    stay.patient.refresh_from_db()
    assert stay.patient.birth_family_name == "MARTIN"


def test_import_hl7_alias_takes_clinical_feeds(stay, tmp_path):
    from django.core.management import call_command

    batch = tmp_path / "feeds.hl7"
    amlodipine = feeds.MedOrder("P1", "66340498", "", "1", "gélule")
    batch.write_text(lab("R1", [BLOOD]) + "\n\n" + meds("M1", [amlodipine]))
    call_command("import_hl7", str(batch))
    assert LabResult.objects.filter(stay=stay).count() == 2
    assert Prescription.objects.get(stay=stay).source.source == InboundMessage.Source.FILE
