"""The demo hospital: reproducible, realistic, and in every state and quality."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from liaison.core.identifiers import OID_INS_NIR_TEST, validate_ins, validate_rpps
from liaison.demo.hospital import generate
from liaison.letters.models import Letter, Patient, Practitioner, Stay

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 20)


def _fingerprint() -> list[tuple]:
    return list(
        Letter.objects.order_by("stay__visit_number", "version").values_list(
            "stay__visit_number",
            "stay__patient__birth_family_name",
            "stay__patient__ins_matricule",
            "status",
            "signed_at",
            "handed_over_at",
            "content_sha256",
        )
    )


def _wipe() -> None:
    from django.contrib.auth.models import User

    from liaison.delivery.models import Delivery
    from liaison.indicators.models import QlsCampaign
    from liaison.letters.models import (
        AuditEvent,
        Correspondent,
        Establishment,
        LetterDocument,
        LetterReview,
        Unit,
        UserProfile,
    )

    AuditEvent.objects.all().delete()
    QlsCampaign.objects.all().delete()  # the declared campaign keeps its author (PROTECT)
    LetterReview.objects.all().delete()
    Delivery.objects.all().delete()
    LetterDocument.objects.all().delete()
    Letter.objects.filter(replaces__isnull=False).delete()
    Letter.objects.all().delete()
    Stay.objects.all().delete()
    Patient.objects.all().delete()
    Practitioner.objects.all().delete()
    UserProfile.objects.all().delete()
    User.objects.all().delete()
    Correspondent.objects.all().delete()
    Unit.objects.all().delete()
    Establishment.objects.all().delete()


def test_same_seed_same_data():
    generate(60, seed=7, today=TODAY)
    first = _fingerprint()
    _wipe()
    generate(60, seed=7, today=TODAY)
    assert _fingerprint() == first
    _wipe()
    generate(60, seed=8, today=TODAY)
    assert _fingerprint() != first


def test_demo_has_every_state_and_quality():
    summary = generate(400, seed=1, today=TODAY)
    assert summary.stays == 400
    letters = list(Letter.objects.select_related("stay"))
    statuses = Counter(x.status for x in letters)
    assert statuses[Letter.Status.DRAFT] > 10 and statuses[Letter.Status.SIGNED] > 200
    assert statuses[Letter.Status.SUPERSEDED] > 3
    current = [x for x in letters if x.status == Letter.Status.SIGNED]
    handed = [x for x in current if x.handed_over_at]
    assert 0.3 < len(handed) / len(current) < 0.9
    next_day = [x for x in current if x.stay.discharge_at and x.signed_at.date() > x.stay.discharge_day]
    assert next_day, "some letters are signed the day after discharge"
    problems = Counter(p.field.split(".")[0] for x in current for p in x.parsed().problems())
    assert problems["medications"] > 5 and problems["follow_up"] > 5
    assert any(not x.parsed().problems() for x in current), "some letters are complete"
    assert Stay.objects.filter(letters__isnull=True).exists(), "some stays have no letter yet"
    assert Stay.objects.filter(discharge_at__isnull=True).exists(), "some patients are still in"
    assert {"MCO", "CA"} <= set(Stay.objects.values_list("sector", flat=True))
    # Today's discharges in every state of the planned discharge (issue 13).
    checks = Counter(x.discharge_check for x in current if x.stay.visit_number.startswith("2649000"))
    assert checks == {"prevue": 1, "coherente": 1, "a_corriger": 1}
    drafts = Letter.objects.filter(stay__visit_number__startswith="2649000", status=Letter.Status.DRAFT)
    # LEMAIRE's planned discharge awaits dr.martin's confirmation; ROUSSEL's intern confirmed it
    assert [x.parsed().planned_discharge.confirmed for x in drafts.order_by("pk")] == [False, True]
    # An intern's letter submitted to dr.martin, « à valider » (issue 20).
    from liaison.letters.models import LetterReview

    submitted = LetterReview.objects.get(outcome=LetterReview.Outcome.PENDING)
    assert (submitted.submitted_by.username, submitted.to.user.username) == ("interne.petit", "dr.martin")
    assert submitted.letter.parsed().prepared_by.family_name == "Petit"
    from liaison.delivery.models import Delivery

    states = Counter(Delivery.objects.values_list("state", flat=True))
    assert states["delivered"] and states["read"] and states["sent"], states
    assert not Delivery.objects.filter(state="pending", letter__signed_at__date__lt=TODAY).exists()


def test_demo_identities_are_synthetic_and_valid():
    generate(80, seed=3, today=TODAY)
    for p in Patient.objects.exclude(ins_matricule=None):
        assert p.ins_oid == OID_INS_NIR_TEST
        validate_ins(p.ins_matricule)
    for pr in Practitioner.objects.all():
        validate_rpps(pr.rpps)
    meds = [m for x in Letter.objects.all() for m in x.parsed().medications]
    assert meds and sum(1 for m in meds if m.cis) / len(meds) > 0.9  # real BDPM medicines


def test_nothing_in_the_demo_happens_after_now():
    from django.utils import timezone

    generate(150, seed=4)  # today: the real day, so "now" matters
    now = timezone.now()
    assert not Stay.objects.filter(discharge_at__gt=now).exists()
    assert not Stay.objects.filter(admission_at__gt=now).exists()
    assert not Letter.objects.filter(signed_at__gt=now).exists()
    assert not Letter.objects.filter(handed_over_at__gt=now).exists()


def test_demo_mssante_addresses_are_ascii():
    from liaison.letters.models import Correspondent

    generate(40, seed=9, today=TODAY)
    addresses = [a for a in Correspondent.objects.values_list("mssante", flat=True) if a]
    addresses += [a for a in Practitioner.objects.values_list("mssante", flat=True) if a]
    assert addresses and all(a.isascii() and a.endswith(".mssante.fr") for a in addresses)
