"""Applying ADT messages to the database: effects, letters, idempotence, order, refusals."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from liaison.ingest.apply import process
from liaison.ingest.models import InboundMessage
from liaison.ingest.worklist import discharges_of_day
from liaison.letters.models import AuditEvent, Correspondent, Letter, Patient, Stay
from tests.conftest import paris, valid_finess, valid_nir
from tests.ingest.messages import GP_RPPS, MEDECIN_RPPS, NEW_GP_RPPS, adt

pytestmark = pytest.mark.django_db

TODAY = timezone.localtime(timezone.now(), timezone.get_default_timezone()).date()


def ok(text: str) -> None:
    out = process(text)
    assert out.code == "AA", out.reason
    assert out.outcome == InboundMessage.Outcome.ACCEPTED


def refused(text: str, code: str = "AE") -> str:
    out = process(text)
    assert out.code == code, out.reason
    assert out.outcome == InboundMessage.Outcome.REFUSED
    assert f"MSA|{code}|" in out.ack and "\rERR|" in out.ack
    return out.reason


def test_admission_creates_patient_stay_and_prefilled_draft(hospital):
    ok(adt("A01", "M1", attending_rpps=MEDECIN_RPPS, gp_rpps=NEW_GP_RPPS, zfm="8||5", referring_rpps=GP_RPPS))
    p = Patient.objects.get(ipp="IPP100")
    assert p.ins_matricule == valid_nir() and p.identity_status == "qualifiee"
    assert p.medecin_traitant.rpps == NEW_GP_RPPS and p.medecin_traitant.title == "Dr"
    stay = Stay.objects.get(visit_number="NDA100")
    assert stay.patient == p and stay.unit == hospital["cardio"] and stay.sector == "MCO"
    assert stay.admission_at == paris(2026, 11, 10, 9, 30)
    assert stay.entry_mode == "urgence" and stay.discharge_at is None
    assert stay.responsible_physician == hospital["users"]["medecin"].practitioner
    assert stay.adresseur == hospital["gp"]  # PV1-8 RPPS matches the existing correspondent
    letter = stay.current_letter
    assert letter.status == Letter.Status.DRAFT
    c = letter.parsed()
    assert c.patient.ins_matricule == valid_nir() and c.patient.birth_family_name == "MARTIN"
    assert c.admission_at == stay.admission_at and c.entry_mode == "urgence"
    assert c.medecin_traitant.rpps == NEW_GP_RPPS
    row = InboundMessage.objects.get(control_id="M1")
    assert row.outcome == "accepted" and row.ack_code == "AA" and row.patient_ipp == "IPP100"
    assert row.raw.startswith("MSH|") and row.applied_at is not None
    assert AuditEvent.objects.filter(object_type="stay", object_id=str(stay.pk), username="système").exists()


def test_pre_admission_then_admission(hospital):
    ok(adt("A05", "P1"))
    stay = Stay.objects.get(visit_number="NDA100")
    assert stay.current_letter is None  # no letter before the patient is admitted
    ok(adt("A01", "P2", admit="202611110800"))
    stay.refresh_from_db()
    assert stay.admission_at == paris(2026, 11, 11, 8) and stay.current_letter is not None


def test_transfer_discharge_worklist_and_cancel_discharge(hospital):
    ok(adt("A01", "T1"))
    ok(adt("A02", "T2", unit="MATER"))
    stay = Stay.objects.get(visit_number="NDA100")
    assert stay.unit == hospital["mater"]
    assert stay.current_letter.parsed().establishment.unit_name == "Maternité"
    today = TODAY.strftime("%Y%m%d")
    ok(adt("A03", "T3", unit="MATER", discharge=today + "1500", zfm="|7||2"))
    stay.refresh_from_db()
    assert stay.discharge_at == dt.datetime.combine(TODAY, dt.time(15), tzinfo=paris(2026, 1, 1).tzinfo)
    assert (stay.exit_mode, stay.destination) == ("smr", "Soins médicaux et de réadaptation")
    c = stay.current_letter.parsed()
    assert c.discharge_at == stay.discharge_at and c.exit_mode == "smr"
    assert list(discharges_of_day(TODAY)) == [stay]
    ok(adt("A13", "T4", unit="MATER", discharge=today + "1500"))
    stay.refresh_from_db()
    assert stay.discharge_at is None and stay.exit_mode == "" and stay.destination == ""
    assert list(discharges_of_day(TODAY)) == []
    assert stay.current_letter.parsed().exit_mode is None


def test_receiving_structure_from_pv1_37(hospital):
    ok(adt("A01", "R1"))
    finess = valid_finess(77)
    text = adt("A03", "R2", discharge="202611141500", zfm="|7||2")
    pv1 = next(s for s in text.split("\r") if s.startswith("PV1|"))
    fields = pv1.split("|")
    fields[37] = finess
    ok(text.replace(pv1, "|".join(fields)))
    stay = Stay.objects.get(visit_number="NDA100")
    assert stay.receiving_structure.finess == finess
    assert stay.receiving_structure.kind == Correspondent.Kind.STRUCTURE


def test_cancel_admission(hospital):
    ok(adt("A01", "X1"))
    ok(adt("A11", "X2"))
    stay = Stay.objects.get(visit_number="NDA100")
    assert stay.cancelled
    reason = refused(adt("A03", "X3", discharge="202611141500"))
    assert "annulé" in reason


def test_identity_update_refreshes_drafts_not_signed_letters(hospital):
    ok(adt("A01", "I1", status="PROV", nir=""))
    stay = Stay.objects.get(visit_number="NDA100")
    ok(adt("A31", "I2", family="MARTIN-DUVAL", status="QUAL"))
    p = Patient.objects.get(ipp="IPP100")
    assert p.birth_family_name == "MARTIN-DUVAL" and p.identity_status == "qualifiee"
    c = stay.current_letter.parsed()
    assert c.patient.birth_family_name == "MARTIN-DUVAL" and c.patient.ins_matricule == valid_nir()
    # A signed letter is never touched by the GAM.
    letter = stay.current_letter
    Letter.objects.filter(pk=letter.pk).update(status=Letter.Status.SIGNED)
    ok(adt("A08", "I3", family="AUTRE"))
    assert Letter.objects.get(pk=letter.pk).parsed().patient.birth_family_name == "MARTIN-DUVAL"


def test_merge_moves_stays_to_survivor(hospital):
    ok(adt("A01", "G1", ipp="IPP-A", nda="NDA-A", nir="", status="PROV"))
    ok(adt("A01", "G2", ipp="IPP-B", nda="NDA-B", gp_rpps=NEW_GP_RPPS))
    ok(adt("A40", "G3", ipp="IPP-B", prior_ipp="IPP-A"))
    a, b = Patient.objects.get(ipp="IPP-A"), Patient.objects.get(ipp="IPP-B")
    assert a.merged_into == b
    assert set(b.stays.values_list("visit_number", flat=True)) == {"NDA-A", "NDA-B"}
    letter = Stay.objects.get(visit_number="NDA-A").current_letter
    assert letter.parsed().patient.ipp == "IPP-B"
    # The absorbed IPP is no longer usable.
    assert "fusionné" in refused(adt("A08", "G4", ipp="IPP-A"))
    # Merging an unknown patient is not an error: nothing to merge.
    out = process(adt("A40", "G5", ipp="IPP-B", prior_ipp="IPP-Z"))
    assert out.code == "AA" and "IPP-Z inconnu" in out.reason


def test_duplicate_is_applied_once(hospital):
    text = adt("A01", "D1")
    ok(text)
    audits = AuditEvent.objects.count()
    again = process(text)
    assert again.code == "AA" and again.outcome == InboundMessage.Outcome.DUPLICATE
    assert "déjà reçu" in again.reason
    assert AuditEvent.objects.count() == audits  # no second effect
    assert Stay.objects.filter(visit_number="NDA100").count() == 1
    assert InboundMessage.objects.filter(control_id="D1").count() == 2
    # The same control id from another facility is another message.
    other = adt("A01", "D1", nda="NDA200").replace("|GAM|CHTEST^", "|GAM|AUTRE^", 1)
    assert process(other).outcome == InboundMessage.Outcome.ACCEPTED


def test_refused_message_can_be_sent_again(hospital):
    text = adt("A01", "U1", unit="NEURO")
    reason = refused(text)
    assert "Unité fonctionnelle inconnue : NEURO" in reason
    from liaison.letters.models import Unit

    Unit.objects.create(establishment=hospital["est"], code="NEURO", name="Neurologie")
    ok(text)
    assert InboundMessage.objects.filter(control_id="U1").count() == 2


def test_messages_for_one_patient_apply_in_order(hospital):
    """A discharge before its admission is refused; sent again after it, it is applied."""
    discharge = adt("A03", "O2", discharge="202611141500")
    assert "Séjour inconnu" in refused(discharge)
    ok(adt("A01", "O1"))
    ok(discharge)
    assert Stay.objects.get(visit_number="NDA100").discharge_at == paris(2026, 11, 14, 15)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (adt("A01", "B1", nir=valid_nir()[:13] + "00"), "clé du matricule INS est incorrecte"),
        (adt("A03", "B2", discharge="202611141500", nda="INCONNU"), "Séjour inconnu : NDA INCONNU"),
        (adt("A01", "B3", unit=""), "unité fonctionnelle"),
        (adt("A01", "B4", birth=""), "date de naissance"),
    ],
)
def test_refusals_leave_nothing_half_applied(hospital, text: str, words: str):
    patients, stays, letters = Patient.objects.count(), Stay.objects.count(), Letter.objects.count()
    reason = refused(text)
    assert words in reason
    assert (Patient.objects.count(), Stay.objects.count(), Letter.objects.count()) == (
        patients,
        stays,
        letters,
    )
    row = InboundMessage.objects.get(control_id=text.split("|")[9])
    assert row.outcome == "refused" and row.reason == reason and row.raw == text


def test_discharge_before_admission_rolls_back_everything(hospital):
    ok(adt("A01", "Z1"))
    reason = refused(adt("A03", "Z2", discharge="202611090800", family="CHANGE"))
    assert "précède la date d'entrée" in reason
    assert Patient.objects.get(ipp="IPP100").birth_family_name == "MARTIN"  # PID not applied either


def test_unknown_types_are_rejected(hospital):
    assert "ADT^A21" in refused(adt("A21", "K1"), code="AR")
    assert "ORU" in refused(adt("A01", "K2", message_type="ORU"), code="AR")
    reason = refused("MSH|^~\\&|GAM|X|LIAISON|X|20261110||ADT^A01|K3|P|2.5\rPID|||", code="AE")
    assert "IPP" in reason
    row = InboundMessage.objects.get(control_id="K3")
    assert row.outcome == "refused"
    garbage = process(b"\x00\xffnot hl7 at all")
    assert garbage.code == "AR" and InboundMessage.objects.filter(raw__contains="not hl7").exists()


def test_existing_patient_and_stay_are_updated(hospital):
    """The fixture's patient (IPP001) and stay (V001): an A03 fills the discharge facts."""
    stay = hospital["stay"]
    Stay.objects.filter(pk=stay.pk).update(discharge_at=None, exit_mode="")
    text = adt(
        "A03",
        "E1",
        ipp="IPP001",
        nda="V001",
        family="DUPONT",
        given="Marie",
        given_names="Marie Louise",
        gp_rpps=GP_RPPS,
        discharge="202611141600",
        zfm="|9",
    )
    ok(text)
    stay.refresh_from_db()
    assert stay.discharge_at == paris(2026, 11, 14, 16) and stay.exit_mode == "deces"
    assert stay.patient.medecin_traitant == hospital["gp"]
    assert stay.current_letter.parsed().exit_mode == "deces"
