"""The demo's discharge day in cardiology: today's discharges in every state of issue 13.

Five patients of `dr.martin` leave today, each at one step of the ward's day, made through the
real lifecycle (`letters.lifecycle`) and the real reconciliation (`letters.reconcile`):

1. planned this afternoon (the GAM's A16), letter drafted, planned discharge not yet confirmed;
2. planned later today, letter signed on the confirmed planned discharge, before any A03;
3. signed and handed over before the A03, which then agreed: « conforme à la sortie enregistrée »;
4. signed on « domicile », handed over; the A03 recorded a mutation: « lettre à corriger »;
5. planned later today, letter completed by the unit's intern and submitted to the senior
   (« à valider »), through the real hand-off (`letters.review`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.contrib.auth.models import User

from liaison import signing
from liaison.core.content import FollowUpItem, FollowUpKind
from liaison.demo.synthetic.letters import complete_letter
from liaison.letters import lifecycle
from liaison.letters.models import Patient, Practitioner, Stay, Unit
from liaison.letters.permissions import Role
from liaison.letters.reconcile import reconcile

# (family name, given name, sex, planned mode, recorded mode and destination or None, step)
PATIENTS = [
    ("LEMAIRE", "Odile", "F", "domicile", None, "draft"),
    ("FAURE", "Bernard", "M", "domicile", None, "signed"),
    ("GIRAUD", "Simone", "F", "domicile", ("domicile", "Domicile"), "consistent"),
    ("PERRIN", "Marcel", "M", "domicile", ("autre_es", "Médecine, chirurgie, obstétrique"), "to_correct"),
    ("ROUSSEL", "Henri", "M", "domicile", None, "intern"),
]


# The clinical answers of the quality module's complete letter, with a cardiology stay's text.
CLINICAL_FIELDS = (
    "procedures_and_exams",
    "adverse_events",
    "resistant_organisms_screened",
    "resistant_organisms",
    "transfusion",
    "blood_derivatives",
    "implanted_devices",
    "allergies",
    "medications",
    "no_pending_results",
)


def _clinical() -> dict:
    base, _ = complete_letter()
    return {
        **{name: getattr(base, name) for name in CLINICAL_FIELDS},
        "reason": "Décompensation cardiaque globale",
        "medical_summary": "Insuffisance cardiaque décompensée sur écart de régime ; amélioration sous "
        "diurétiques IV, perte de 3 kg.",
        "follow_up": [
            FollowUpItem(
                kind=FollowUpKind.RDV_A_PRENDRE,
                description="Consultation de cardiologie dans un mois, pesée quotidienne",
            )
        ],
    }


def discharge_day(
    unit: Unit,
    physician: Practitioner,
    make_patient: Callable[[str, str, str, int], Patient],
    now: dt.datetime,
    visit_prefix: str,
) -> list[Stay]:
    """Create the stays of the discharge day (`make_patient(family, given, sex, n)`)."""
    user = physician.user
    intern = User.objects.filter(groups__name=Role.INTERNE.value, profile__units=unit).order_by("pk").first()
    later = min(now + dt.timedelta(hours=2), now.replace(hour=23, minute=45))
    out = []
    for n, (family, given, sex, planned_mode, recorded, step) in enumerate(PATIENTS):
        planned_at = (later if recorded is None else now - dt.timedelta(minutes=40)).replace(
            second=0, microsecond=0
        )
        stay = Stay.objects.create(
            establishment=unit.establishment,
            patient=make_patient(family, given, sex, n),
            unit=unit,
            visit_number=f"{visit_prefix}{n}",
            sector=unit.sector,
            admission_at=now - dt.timedelta(days=3, hours=2),
            planned_discharge_at=planned_at,
            planned_exit_mode=planned_mode,
            planned_destination="Domicile",
            entry_mode="urgence",
            responsible_physician=physician,
        )
        author = intern if step == "intern" and intern is not None else user
        letter = lifecycle.open_letter(stay, author)
        content = letter.parsed()
        planned = content.planned_discharge.model_copy(update={"confirmed": step != "draft"})
        clinical = _clinical() if step != "draft" else {"reason": "Décompensation cardiaque globale"}
        content = content.model_copy(update={**clinical, "planned_discharge": planned})
        letter = lifecycle.save_draft(letter.pk, content, letter.revision, author, why="démonstration")
        if step == "intern":
            if author is not user:  # the unit has an intern: « à valider » for the senior
                note = "Conciliation faite avec la pharmacie"
                signing.submit(letter.pk, author, to=physician.pk, note=note)
        elif step != "draft":
            signed_at = max(stay.admission_at, min(now, planned_at) - dt.timedelta(hours=1, minutes=30))
            letter = signing.sign(letter.pk, user, at=signed_at)
        if recorded is not None:
            handed_at = planned_at - dt.timedelta(minutes=10)
            lifecycle.hand_over(letter.pk, user, at=handed_at, understanding_checked=True)
            stay.discharge_at = (now - dt.timedelta(minutes=10)).replace(second=0, microsecond=0)
            stay.exit_mode, stay.destination = recorded
            stay.save(update_fields=["discharge_at", "exit_mode", "destination"])
            reconcile(stay, "A03", lambda e: e.save(), "démonstration : sortie enregistrée (A03)")
        out.append(stay)
    return out
