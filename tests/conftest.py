"""Shared fixtures: a small hospital built through the real models (PostgreSQL in CI)."""

from __future__ import annotations

import datetime as dt

import pytest

from liaison.core.identifiers import OID_INS_NIR_TEST
from liaison.core.paris import paris_days
from liaison.demo.synthetic import identities
from liaison.ingest.apply import clear_caches
from liaison.letters.models import PARIS


def valid_rpps(n: int) -> str:
    return identities.rpps(n)


def valid_finess(n: int, dept: str = "45") -> str:
    return identities.finess(n, dept)


def valid_nir(sex: str = "2", yymm: str = "8504", place: str = "45234", order: str = "017") -> str:
    return identities.nir(sex, yymm, place, order)


def paris(y: int, m: int, d: int, h: int = 12, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=PARIS)


def later_today(delay: dt.timedelta) -> dt.datetime:
    """`delay` from now, to the minute, but still today in Paris (the suite also runs late in the
    evening, when « in two hours » is tomorrow): at most 23:59."""
    now = dt.datetime.now(dt.UTC)
    _, midnight = paris_days(now.astimezone(PARIS).date())
    return min(now + delay, midnight - dt.timedelta(minutes=1)).replace(second=0, microsecond=0)


@pytest.fixture
def hospital(db):
    """One establishment, two units, a user per role, a patient with a qualified test INS, a stay."""
    from django.contrib.auth.models import Group, User

    from liaison.core.content import IdentityStatus
    from liaison.letters.models import (
        Correspondent,
        Establishment,
        Patient,
        Practitioner,
        Profession,
        Stay,
        Unit,
        UserProfile,
    )
    from liaison.letters.permissions import Role

    est = Establishment.objects.create(
        name="CH de Test",
        finess_ej=valid_finess(1),
        finess_eg=valid_finess(2),
        emergency_phone="02 00 00 00 15",
    )
    cardio = Unit.objects.create(establishment=est, code="CARDIO", name="Cardiologie", sector="MCO")
    mater = Unit.objects.create(
        establishment=est, code="MATER", name="Maternité", sector="MCO", is_obstetric=True
    )
    other = Unit.objects.create(establishment=est, code="PSY", name="Psychiatrie", sector="PSY")
    users = {}
    for i, role in enumerate(Role):
        user = User.objects.create_user(f"u_{role.value}", password="x")
        user.groups.add(Group.objects.get_or_create(name=role.value)[0])
        profile = UserProfile.objects.create(user=user, establishment=est)
        if role in (Role.MEDECIN, Role.INTERNE, Role.SECRETAIRE, Role.INFIRMIER):
            profile.units.set([cardio])
        if role == Role.SAGE_FEMME:
            profile.units.set([mater, cardio])
        if role in (Role.MEDECIN, Role.INTERNE, Role.SAGE_FEMME):
            Practitioner.objects.create(
                establishment=est,
                rpps=valid_rpps(100 + i),
                family_name=role.value.upper(),
                given_name="Test",
                profession={
                    "medecin": Profession.MEDECIN,
                    "interne": Profession.INTERNE,
                    "sage_femme": Profession.SAGE_FEMME,
                }[role.value],
                user=user,
            )
        users[role.value] = user
    gp = Correspondent.objects.create(
        rpps=valid_rpps(900),
        title="Dr",
        family_name="Généraliste",
        given_name="Anne",
        mssante="anne.generaliste@medecin.mssante.fr",
    )
    nir = valid_nir()
    patient = Patient.objects.create(
        establishment=est,
        ipp="IPP001",
        ins_matricule=nir,
        ins_oid=OID_INS_NIR_TEST,
        identity_status=IdentityStatus.QUALIFIEE,
        birth_family_name="DUPONT",
        first_given_name="Marie",
        given_names="Marie Louise",
        birth_date=dt.date(1985, 4, 12),
        birth_place_cog="45234",
        sex="F",
        medecin_traitant=gp,
    )
    stay = Stay.objects.create(
        establishment=est,
        patient=patient,
        unit=cardio,
        visit_number="V001",
        sector="MCO",
        admission_at=paris(2026, 11, 10, 9),
        discharge_at=paris(2026, 11, 14, 15),
        entry_mode="urgence",
        exit_mode="domicile",
        responsible_physician=users["medecin"].practitioner,
    )
    return {
        "est": est,
        "cardio": cardio,
        "mater": mater,
        "other": other,
        "users": users,
        "patient": patient,
        "stay": stay,
        "gp": gp,
    }


def complete_content_updates() -> dict:
    """The clinician's part of a letter that holds every element of R.1112-1-2."""
    from liaison.core.content import (
        FollowUpItem,
        FollowUpKind,
        MedicationLine,
        MedicationStatus,
        Presence,
    )

    return dict(
        reason="Décompensation cardiaque",
        medical_summary="Insuffisance cardiaque décompensée, amélioration sous diurétiques.",
        adverse_events=Presence(present=False),
        resistant_organisms=Presence(present=False),
        transfusion=Presence(present=False),
        blood_derivatives=Presence(present=False),
        implanted_devices=Presence(present=False),
        medications=[
            MedicationLine(
                medicine="FUROSEMIDE 40 mg",
                status=MedicationStatus.MODIFIE,
                dosage="1 cp le matin",
                duration="au long cours",
                reason="Posologie doublée : surcharge",
            )
        ],
        follow_up=[FollowUpItem(kind=FollowUpKind.RDV_PRIS, description="Consultation de cardiologie")],
    )


@pytest.fixture(autouse=True)
def _fresh_ingest_caches():
    """The listener keeps reference data 30 s per process; each test builds its own hospital."""
    clear_caches()


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
