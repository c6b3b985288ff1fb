"""`liaison adt-replay` against a real MLLP listener on loopback, on the demo hospital."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from liaison.demo.hospital import generate
from liaison.ingest.mllp import MLLPServer
from liaison.ingest.models import InboundMessage
from liaison.letters.models import Letter, Patient, Stay

pytestmark = pytest.mark.django_db(transaction=True)

IDENTITY = (
    "ins_matricule",
    "ins_oid",
    "identity_status",
    "birth_family_name",
    "used_family_name",
    "first_given_name",
    "given_names",
    "birth_date",
    "birth_place_cog",
    "sex",
    "address",
    "phone",
    "medecin_traitant_id",
)


@pytest.fixture
def demo_listener():
    generate(60, seed=1)
    with MLLPServer("127.0.0.1", 0) as srv:
        yield srv


def _replay(server: MLLPServer, *args: str) -> str:
    host, port = server.address
    out = io.StringIO()
    call_command("adt_replay", "--host", host, "--port", str(port), *args, stdout=out)
    return out.getvalue()


def test_replay_a_synthetic_day(demo_listener):
    in_house = {
        s.visit_number: s.patient_id for s in Stay.objects.filter(discharge_at__isnull=True, cancelled=False)
    }
    identities = {p["id"]: p for p in Patient.objects.values("id", *IDENTITY)}
    stays_before = Stay.objects.count()

    out = _replay(demo_listener, "--seed", "3", "--admissions", "8")
    lines = out.strip().splitlines()
    assert len(lines) == InboundMessage.objects.count() + 1  # one line per message + summary

    rows = list(InboundMessage.objects.all())
    accepted = [r for r in rows if r.outcome == InboundMessage.Outcome.ACCEPTED]
    duplicates = [r for r in rows if r.outcome == InboundMessage.Outcome.DUPLICATE]
    refused = [r for r in rows if r.outcome == InboundMessage.Outcome.REFUSED]
    assert len(duplicates) == 1 and len(refused) == 1, [r.reason for r in refused]
    assert refused[0].ack_code in ("AE", "AR") and "PID" in refused[0].reason
    # The duplicate was applied once and acknowledged twice.
    twice = [r for r in accepted if r.control_id == duplicates[0].control_id]
    assert len(twice) == 1
    assert sum(" → AA : " in line for line in lines[:-1]) == len(accepted) + 1
    assert sum(" → AE : " in line or " → AR : " in line for line in lines[:-1]) == 1
    assert "déjà reçu" in out and "1 doublon(s) ignoré(s)), 1 refusé(s)" in lines[-1]

    # New stays, each with its pre-filled draft.
    events = [r.event for r in accepted]
    assert events.count("A01") == 8 and "A08" in events and "A03" in events
    new_stays = Stay.objects.exclude(visit_number__in=[*in_house]).filter(pk__gt=0)
    assert Stay.objects.count() == stays_before + 8
    created = Stay.objects.filter(visit_number__in=[r.visit_number for r in accepted if r.event == "A01"])
    assert created.count() == 8
    assert Letter.objects.filter(stay__in=created, status=Letter.Status.DRAFT).count() == 8
    assert all(s.patient.ins_oid in ("", "1.2.250.1.213.1.4.10") for s in created)
    assert new_stays.count() >= 8

    # Discharges of patients who were in: discharged, identity left as it was.
    discharged = [r.visit_number for r in accepted if r.event == "A03"]
    for stay in Stay.objects.filter(visit_number__in=discharged):
        assert stay.visit_number in in_house and stay.discharge_at is not None
        after = Patient.objects.values("id", *IDENTITY).get(pk=stay.patient_id)
        assert after == identities[stay.patient_id]

    # Planned discharges (A16) of patients staying, one cancelled (A25); the others stay planned.
    assert "A16" in events and events.count("A25") == 1
    cancelled = next(r.visit_number for r in accepted if r.event == "A25")
    assert Stay.objects.get(visit_number=cancelled).planned_discharge_at is None
    for visit in {r.visit_number for r in accepted if r.event == "A16"} - {cancelled, *discharged}:
        stay = Stay.objects.get(visit_number=visit)
        assert stay.discharge_at is None and stay.planned_discharge_at is not None
        assert stay.planned_exit_mode == "domicile"


def test_dry_run_then_replay_the_file(demo_listener, tmp_path):
    path = tmp_path / "journee.hl7"
    out = io.StringIO()
    call_command("adt_replay", "--dry-run", "--out", str(path), "--admissions", "4", stdout=out)
    assert "rien n'a été envoyé" in out.getvalue()
    assert InboundMessage.objects.count() == 0
    text = path.read_text(encoding="utf-8")
    assert text.startswith("MSH|") and text.count("\nMSH|") + 1 >= 6

    replayed = _replay(demo_listener, "--file", str(path))
    assert InboundMessage.objects.filter(outcome="accepted", event="A01").count() == 4
    assert "1 refusé(s)" in replayed.strip().splitlines()[-1]


def test_the_same_day_replayed_again_is_new_traffic(demo_listener):
    """A second replay of the day brings new patients under new control ids: nothing is taken
    for a copy of the first day, and only the malformed message is refused."""
    first = _replay(demo_listener, "--seed", "5", "--admissions", "6")
    second = _replay(demo_listener, "--seed", "5", "--admissions", "6")
    for out in (first, second):
        assert "1 doublon(s) ignoré(s)), 1 refusé(s)" in out.strip().splitlines()[-1], out
    assert "Séjour inconnu" not in second
    ids = [r.control_id for r in InboundMessage.objects.filter(outcome="accepted")]
    assert len(ids) == len(set(ids))
    assert any("R2-" in i for i in ids) and any("R2-" not in i for i in ids)
    assert InboundMessage.objects.filter(outcome="accepted", event="A01").count() == 12
