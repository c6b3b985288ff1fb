"""The discharge day as the ward lives it: sign on the planned discharge, reconcile with the A03.

The GAM's planned discharge (PV2-9, A16 / A25 with ZFM) pre-fills the letter; the physician
confirms it and signs before the A03; the A03 (or an A13, or a new A16) is then compared with
the signed letter, which is never changed: a difference asks for a correction.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from liaison import signing
from liaison.core.content import PlannedDischarge
from liaison.ingest import hl7v2
from liaison.ingest.apply import process
from liaison.ingest.models import InboundMessage
from liaison.letters import lifecycle
from liaison.letters.models import PARIS, AuditEvent, DischargeCheck, Letter, Stay
from tests.conftest import complete_content_updates
from tests.ingest.messages import MEDECIN_RPPS, adt

pytestmark = pytest.mark.django_db

TOMORROW = timezone.localtime(timezone.now(), PARIS).date() + dt.timedelta(days=1)
DAY = TOMORROW.strftime("%Y%m%d")  # the discharge day: in the future, as on the ward
ADMIT = (TOMORROW - dt.timedelta(days=3)).strftime("%Y%m%d") + "0930"


def at(hhmm: str) -> dt.datetime:
    return dt.datetime.combine(TOMORROW, dt.time(int(hhmm[:2]), int(hhmm[2:])), PARIS)


def ok(text: str) -> None:
    out = process(text)
    assert out.code == "AA", out.reason


def refused(text: str) -> str:
    out = process(text)
    assert out.code == "AE", out.reason
    assert out.outcome == InboundMessage.Outcome.REFUSED
    assert "\rERR|" in out.ack
    row = InboundMessage.objects.get(pk=out.message_id)
    assert row.raw.startswith("MSH") and row.reason == out.reason  # the raw message is kept
    return out.reason


def msg(event: str, control: str, nda: str = "NDA100", **kw) -> str:
    return adt(event, control, nda=nda, ipp="IPP" + nda, admit=ADMIT, attending_rpps=MEDECIN_RPPS, **kw)


def current(nda: str = "NDA100") -> Letter:
    stay = Stay.objects.get(visit_number=nda)
    return stay.letters.order_by("-version").first()


def sign_planned(hospital, nda: str = "NDA100", confirm: bool = True) -> Letter:
    """The physician completes the letter, confirms the planned discharge and signs (no A03 yet)."""
    user = hospital["users"]["medecin"]
    letter = current(nda)
    content = letter.parsed()
    planned = content.planned_discharge.model_copy(update={"confirmed": confirm})
    content = content.model_copy(update={**complete_content_updates(), "planned_discharge": planned})
    letter = lifecycle.save_draft(letter.pk, content, letter.revision, user)
    return signing.sign(letter.pk, user, at=timezone.now())


def test_a16_and_a25_parse_with_their_planned_mode():
    m = hl7v2.parse(msg("A16", "P1", expected_discharge=DAY + "1400", zfm="|8"))
    assert m.event == "A16"
    assert m.visit.expected_discharge_at == at("1400")
    assert (m.visit.exit_mode, m.visit.destination) == ("domicile", "Domicile")
    assert hl7v2.parse(msg("A25", "P2")).event == "A25"


def test_a16_reads_the_planned_mode_from_pv1_36_without_zfm():
    text = msg("A16", "P3", expected_discharge=DAY + "1400")
    pv1 = next(seg for seg in text.split("\r") if seg.startswith("PV1|"))
    fields = pv1.split("|")
    fields[36] = "7"  # PMSI exit mode in PV1-36: transfert
    m = hl7v2.parse(text.replace(pv1, "|".join(fields)))
    assert m.visit.exit_mode == "autre_es"
    fields[36] = "X"
    with pytest.raises(hl7v2.HL7Error, match="hors du jeu de valeurs en PV1-36"):
        hl7v2.parse(text.replace(pv1, "|".join(fields)))


def test_admission_pre_fills_an_unconfirmed_planned_discharge(hospital):
    ok(msg("A01", "M1", expected_discharge=DAY + "1400"))
    c = current().parsed()
    assert not c.discharge_recorded
    assert c.planned_discharge == PlannedDischarge(at=at("1400"))
    assert c.discharge_at == at("1400")  # the letter states the planned discharge
    fields = {p.field: p for p in c.problems()}
    assert fields["planned_discharge.confirmed"].blocks_signature
    assert "planned_discharge.exit_mode" in fields
    ok(msg("A16", "M2", expected_discharge=DAY + "1500", zfm="|8"))
    c = current().parsed()
    assert c.planned_discharge == PlannedDischarge(
        at=at("1500"), exit_mode="domicile", destination="Domicile"
    )
    stay = Stay.objects.get(visit_number="NDA100")
    assert (stay.planned_discharge_at, stay.planned_exit_mode) == (at("1500"), "domicile")


def test_unconfirmed_planned_discharge_blocks_the_signature(hospital):
    ok(msg("A01", "U1"))
    ok(msg("A16", "U2", expected_discharge=DAY + "1400", zfm="|8"))
    with pytest.raises(lifecycle.LifecycleError, match="Sortie prévue à confirmer"):
        sign_planned(hospital, confirm=False)
    assert current().status == Letter.Status.DRAFT


def test_signed_before_the_a03_then_consistent(hospital):
    ok(msg("A01", "C1"))
    ok(msg("A16", "C2", expected_discharge=DAY + "1400", zfm="|8"))
    signed = sign_planned(hospital)
    assert signed.discharge_check == DischargeCheck.PLANNED
    c = signed.parsed()
    assert (c.discharge_at, c.exit_mode, c.discharge_recorded) == (at("1400"), "domicile", False)
    cda = bytes(signed.document.cda)
    assert at("1400").strftime("%Y%m%d%H%M").encode() in cda  # what was known at signature
    frozen = (signed.content_sha256, signed.document.cda_sha256)
    ok(msg("A03", "C3", discharge=DAY + "1630", zfm="|8"))
    signed.refresh_from_db()
    assert signed.discharge_check == DischargeCheck.CONSISTENT and signed.discharge_differences == []
    assert (signed.content_sha256, signed.document.cda_sha256) == frozen  # nothing regenerated
    assert signed.parsed().discharge_at == at("1400")
    assert AuditEvent.objects.filter(action="reconcile", object_id=str(signed.pk)).exists()


def test_a03_with_another_mode_asks_for_a_correction_pre_filled_from_the_gam(hospital):
    ok(msg("A01", "D1"))
    ok(msg("A16", "D2", expected_discharge=DAY + "1400", zfm="|8"))
    signed = sign_planned(hospital)
    ok(msg("A03", "D3", discharge=DAY + "1630", zfm="|6||1"))  # mutation to another MCO unit
    signed.refresh_from_db()
    assert signed.discharge_check == DischargeCheck.TO_CORRECT
    assert signed.discharge_differences == [
        "Modalité de sortie : lettre « Retour au domicile », "
        "sortie enregistrée « Autre établissement de santé ».",
        "Destination : lettre « Domicile », sortie enregistrée « Médecine, chirurgie, obstétrique ».",
    ]
    assert signed.status == Letter.Status.SIGNED and signed.parsed().exit_mode == "domicile"
    fix = lifecycle.start_correction(signed.pk, hospital["users"]["medecin"], "sortie enregistrée différente")
    c = fix.parsed()
    assert (c.discharge_recorded, c.discharge_at, c.exit_mode) == (True, at("1630"), "autre_es")
    assert c.reason == "Décompensation cardiaque"  # the clinical content is carried over
    corrected = signing.sign(fix.pk, hospital["users"]["medecin"])
    signed.refresh_from_db()
    assert signed.status == Letter.Status.SUPERSEDED
    assert signed.discharge_check == DischargeCheck.TO_CORRECT  # kept: the indicator counts it
    assert corrected.discharge_check == DischargeCheck.CONSISTENT


def test_a03_on_another_day_is_named(hospital):
    ok(msg("A01", "J1"))
    ok(msg("A16", "J2", expected_discharge=DAY + "1400", zfm="|8"))
    signed = sign_planned(hospital)
    later = (TOMORROW + dt.timedelta(days=1)).strftime("%Y%m%d")
    ok(msg("A03", "J3", discharge=later + "0900", zfm="|8"))
    signed.refresh_from_db()
    assert signed.discharge_check == DischargeCheck.TO_CORRECT
    (diff,) = signed.discharge_differences
    assert diff.startswith("Date de sortie : lettre " + TOMORROW.strftime("%d/%m/%Y"))


def test_cancelled_discharge_after_signature_flags_the_letter(hospital):
    ok(msg("A01", "K1"))
    ok(msg("A16", "K2", expected_discharge=DAY + "1400", zfm="|8"))
    signed = sign_planned(hospital)
    ok(msg("A03", "K3", discharge=DAY + "1430", zfm="|8"))
    signed.refresh_from_db()
    assert signed.discharge_check == DischargeCheck.CONSISTENT
    ok(msg("A13", "K4"))
    signed.refresh_from_db()
    assert signed.discharge_check == DischargeCheck.TO_CORRECT
    assert "annulée par le GAM (A13)" in signed.discharge_differences[0]


def test_a16_changing_the_plan_after_signature_flags_it_and_a25_too(hospital):
    ok(msg("A01", "L1"))
    ok(msg("A16", "L2", expected_discharge=DAY + "1400", zfm="|8"))
    signed = sign_planned(hospital)
    ok(msg("A16", "L3", expected_discharge=DAY + "1700", zfm="|8"))  # same day, same mode
    signed.refresh_from_db()
    assert signed.discharge_check == DischargeCheck.PLANNED
    ok(msg("A16", "L4", expected_discharge=DAY + "1700", zfm="|8||7"))
    signed.refresh_from_db()
    assert signed.discharge_check == DischargeCheck.TO_CORRECT
    assert "« EHPAD »" in signed.discharge_differences[0]
    ok(msg("A25", "L5"))
    signed.refresh_from_db()
    assert "annulée par le GAM (A25)" in signed.discharge_differences[0]


def test_a16_on_a_draft_replaces_the_plan_to_confirm_again(hospital):
    ok(msg("A01", "R1"))
    ok(msg("A16", "R2", expected_discharge=DAY + "1400", zfm="|8"))
    user = hospital["users"]["medecin"]
    letter = current()
    content = letter.parsed()
    content = content.model_copy(
        update={"planned_discharge": content.planned_discharge.model_copy(update={"confirmed": True})}
    )
    lifecycle.save_draft(letter.pk, content, letter.revision, user)
    assert current().parsed().planned_discharge.confirmed
    ok(msg("A16", "R3", expected_discharge=DAY + "1800", zfm="|7||2"))
    p = current().parsed().planned_discharge
    assert (p.at, p.exit_mode, p.confirmed) == (at("1800"), "smr", False)
    ok(msg("A25", "R4"))
    assert current().parsed().planned_discharge == PlannedDischarge()


@pytest.mark.parametrize(
    "text, words",
    [
        (lambda: msg("A16", "B1", nda="NDA999", expected_discharge=DAY + "1400"), "Séjour inconnu"),
        (lambda: msg("A25", "B2"), "Aucune sortie prévue à annuler"),
        (lambda: msg("A16", "B3", expected_discharge=ADMIT[:8] + "0800"), "précède la date d'entrée"),
        (
            lambda: msg("A16", "B4", expected_discharge=DAY + "1400", zfm="|5"),
            "hors du jeu de valeurs en ZFM-2",
        ),
        (lambda: msg("A16", "B5", expected_discharge=DAY + "1400", zfm="|8||9"), "ZFM-4"),
    ],
)
def test_bad_pending_discharges_are_refused_and_change_nothing(hospital, text, words):
    ok(msg("A01", "B0"))
    before = (Stay.objects.values().get(visit_number="NDA100"), current().content, current().revision)
    reason = refused(text())
    assert words in reason
    assert (Stay.objects.values().get(visit_number="NDA100"), current().content, current().revision) == before


def test_a16_after_the_recorded_discharge_is_refused(hospital):
    ok(msg("A01", "S1"))
    ok(msg("A03", "S2", discharge=DAY + "1000", zfm="|8"))
    assert "déjà enregistrée" in refused(msg("A16", "S3", expected_discharge=DAY + "1400"))
