"""Synthetic letters for tests, benchmarks and demos (never real patients: test INS OID).

`complete_letter()` builds a letter that meets every criterion of every shipped grid.
`random_letter(rng)` derives a variation of it with a few plausible omissions, seeded, so
that benchmarks and audit demos get a realistic mix of compliant and non-compliant letters.
"""

from __future__ import annotations

import datetime as dt
import random
from functools import cache

from liaison.core.content import (
    EntryMode,
    EstablishmentInfo,
    ExitMode,
    FollowUpItem,
    FollowUpKind,
    LetterContent,
    LetterFacts,
    MedicationLine,
    MedicationStatus,
    PatientIdentity,
    Presence,
    Professional,
    Sector,
    Sex,
)
from liaison.core.identifiers import OID_INS_NIR_TEST
from liaison.core.paris import PARIS


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """An aware datetime in Europe/Paris."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=PARIS)


def complete_letter(
    discharge_at: dt.datetime | None = None, sector: Sector = Sector.MCO
) -> tuple[LetterContent, LetterFacts]:
    """A letter meeting every criterion of every shipped grid, signed and handed over on time."""
    discharge = discharge_at or paris(2024, 3, 14, 11, 0)
    content = LetterContent(
        establishment=EstablishmentInfo(
            finess_eg="750000001",
            name="Centre hospitalier de test",
            unit_name="Médecine interne",
            phone="01 00 00 00 00",
        ),
        patient=PatientIdentity(
            ins_matricule="279035121518989",
            ins_oid=OID_INS_NIR_TEST,
            birth_family_name="PAT-TEST",
            first_given_name="CAMILLE",
            given_names="CAMILLE",
            birth_date=dt.date(1979, 3, 28),
            sex=Sex.F,
        ),
        medecin_traitant=Professional(
            title="Dr",
            given_name="Alix",
            family_name="GÉNÉRALISTE",
            phone="01 11 11 11 11",
            rpps="10000000001",
        ),
        adresseur=Professional(title="Dr", given_name="Noé", family_name="ADRESSEUR", phone="01 22 22 22 22"),
        responsible_physician=Professional(
            title="Dr",
            given_name="Sam",
            family_name="HOSPITALIER",
            profession="médecin",
            phone="01 33 33 33 33",
        ),
        sector=sector,
        admission_at=discharge - dt.timedelta(days=4),
        discharge_at=discharge,
        entry_mode=EntryMode.URGENCE,
        exit_mode=ExitMode.DOMICILE,
        destination="Domicile",
        reason="Pneumopathie hypoxémiante",
        medical_summary="Antibiothérapie 7 jours, évolution favorable.",
        procedures_and_exams="Radiographie thoracique, hémocultures négatives.",
        adverse_events=Presence(present=False),
        resistant_organisms_screened=True,
        resistant_organisms=Presence(present=False),
        transfusion=Presence(present=False),
        blood_derivatives=Presence(present=False),
        implanted_devices=Presence(present=False),
        allergies=Presence(present=False),
        medications=[
            MedicationLine(
                medicine="AMOXICILLINE 1 g",
                status=MedicationStatus.NOUVEAU,
                dosage="1 g matin, midi et soir",
                duration="3 jours",
            ),
            MedicationLine(
                medicine="RAMIPRIL 5 mg",
                usual_treatment="RAMIPRIL 10 mg",
                status=MedicationStatus.MODIFIE,
                dosage="1 comprimé le matin",
                duration="au long cours",
                reason="hypotension pendant le séjour",
            ),
            MedicationLine(
                medicine="IBUPROFÈNE 400 mg",
                usual_treatment="IBUPROFÈNE 400 mg",
                status=MedicationStatus.ARRETE,
                reason="insuffisance rénale aiguë",
            ),
        ],
        no_pending_results=True,
        follow_up=[
            FollowUpItem(
                kind=FollowUpKind.RDV_PRIS,
                description="Consultation de pneumologie",
                date=dt.date(2024, 4, 2),
            )
        ],
        emergency_contact="01 44 44 44 44",
    )
    facts = LetterFacts(
        letter_id="L-TEST-1",
        stay_id="S-TEST-1",
        signed_at=discharge - dt.timedelta(hours=1),
        signer_profession="medecin",
        handed_over_at=discharge,
        sent_to_medecin_traitant_at=discharge + dt.timedelta(minutes=5),
    )
    return content, facts


_OMISSIONS = (
    "handover_missing",
    "handover_next_day",
    "no_medications",
    "duration_missing",
    "reason_missing",
    "no_follow_up",
    "summary_missing",
    "no_medecin_traitant_flag",
    "unsigned",
)


@cache
def _base() -> tuple[LetterContent, LetterFacts]:
    return complete_letter(paris(2024, 1, 1, 8))


def random_letter(rng: random.Random, p_omission: float = 0.12) -> tuple[LetterContent, LetterFacts]:
    """A seeded variation of `complete_letter`: each omission happens with `p_omission`.

    Variations share their unchanged parts (patient, physicians…) with one base letter, so that
    100,000 of them build in seconds: treat them as read-only.
    """
    base_content, base_facts = _base()
    shift = dt.timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
    discharge = base_content.discharge_at + shift  # type: ignore[operator]
    content = base_content
    c: dict[str, object] = {"admission_at": base_content.admission_at + shift, "discharge_at": discharge}  # type: ignore[operator]
    f: dict[str, object] = {
        name: getattr(base_facts, name) + shift
        for name in ("signed_at", "handed_over_at", "sent_to_medecin_traitant_at")
    }
    facts = base_facts
    meds = list(content.medications[: rng.randint(1, 3)])
    for omission in _OMISSIONS:
        if rng.random() >= p_omission:
            continue
        if omission == "handover_missing":
            f["handed_over_at"] = None
        elif omission == "handover_next_day":
            f["handed_over_at"] = discharge + dt.timedelta(days=1)
        elif omission == "no_medications":
            meds = []
        elif omission == "duration_missing" and meds:
            meds[0] = meds[0].model_copy(update={"duration": ""})
        elif omission == "reason_missing" and len(meds) > 1:
            meds[1] = meds[1].model_copy(update={"reason": ""})
        elif omission == "no_follow_up":
            c["follow_up"] = []
        elif omission == "summary_missing":
            c["medical_summary"] = ""
        elif omission == "no_medecin_traitant_flag":
            c["medecin_traitant"] = None
            c["no_medecin_traitant"] = rng.random() < 0.5
        elif omission == "unsigned":
            f["signed_at"] = None
    c["medications"] = meds
    c["no_discharge_medication"] = not meds and rng.random() < 0.5
    return content.model_copy(update=c), facts.model_copy(update=f)
