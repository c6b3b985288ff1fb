"""The demo hospital's clinical traffic: every stay gets its results, medicines and coding."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db.models import Count

from liaison.clinical.models import Diagnosis, LabResult, Prescription
from liaison.demo.clinical_feeds import feed_stays
from liaison.demo.hospital import generate
from liaison.demo.synthetic.clinical import stay_messages
from liaison.ingest.apply import clear_caches
from liaison.letters.models import Stay

AT = dt.datetime(2026, 11, 10, 9, tzinfo=dt.UTC)


def test_volumes_of_one_stay_are_realistic():
    for seed in range(30):
        msgs = stay_messages(
            random.Random(seed),
            ipp="1",
            nda=f"N{seed}",
            facility="450000021",
            admit_at=AT,
            end_at=AT + dt.timedelta(days=4),
            discharged=True,
            control="C",
        )
        results = sum(m.text.count("\rOBX|") for m in msgs)
        medicines = {
            line.split("|")[2 if line.startswith("RXE") else 1].split("^")[0]
            for m in msgs
            for line in m.text.split("\r")
            if line.startswith(("RXE|", "RXO|"))
        }
        medicines.discard("")
        assert 3 <= results <= 45, results
        assert 3 <= len(medicines) <= 12, medicines
        assert sum(m.kind == "ADT^A08" for m in msgs) == 1
    # One stay draws the same medicines whatever the command (seeded by its visit number).
    one = stay_messages(
        random.Random("N1"),
        ipp="1",
        nda="N1",
        facility="450000021",
        admit_at=AT,
        end_at=AT + dt.timedelta(days=1),
        discharged=False,
        control="A",
    )
    two = stay_messages(
        random.Random("N1"),
        ipp="1",
        nda="N1",
        facility="450000021",
        admit_at=AT,
        end_at=AT + dt.timedelta(days=3),
        discharged=True,
        control="B",
    )
    entry = [next(m for m in msgs if m.kind == "RDE^O11").text.split("\r", 1)[1] for msgs in (one, two)]
    assert entry[0] == entry[1]  # the treatment at entry


@pytest.mark.django_db
def test_every_demo_stay_gets_its_record():
    clear_caches()
    summary = generate(12, seed=5, today=dt.date(2026, 11, 20))
    outcomes = feed_stays(summary.establishment)
    assert outcomes["refused"] == 0 and outcomes["accepted"] > 12 * 3
    stays = Stay.objects.filter(establishment=summary.establishment)
    counts = dict(LabResult.objects.values("stay").annotate(n=Count("id")).values_list("stay", "n"))
    assert all(counts.get(s.pk, 0) >= 3 for s in stays)
    for s in stays:
        kinds = set(Prescription.objects.filter(stay=s).values_list("kind", flat=True))
        assert "entree" in kinds
        if s.discharge_at is not None:
            assert "sortie" in kinds and Diagnosis.objects.filter(stay=s, principal=True).exists()
