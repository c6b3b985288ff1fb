"""Benchmark of the clinical feeds: ORU^R01 and RDE^O11 ingestion over MLLP on PostgreSQL, and
the server time of opening a letter drafted from 40 results and 12 medicines.

Creates its own database (`liaison_bench_clinical`), seeds the establishment of
`bench_mllp.py`, admits the patients (not timed), then starts `liaison mllp --workers 2` and
sends, over 4 connections, for each stay one ORU^R01 (one order, 5 results, some abnormal, and
a pending culture) and one RDE^O11 (6 medicines by CIS, checked against the BDPM); each message
waits for its ACK. In the same run it measures, as references, the machine's floor (one
PostgreSQL round trip, one durable INSERT) and the ADT rate of the same listener (A08 identity
updates of the same patients, one message per stay).

Then, in this process, the letter page of a stay holding 40 results, 12 medicines at entry and
at discharge, diagnoses, procedures and an allergy: the first opening drafts the letter (record
read, proposals merged, draft written), the next ones only check that nothing is new. Django's
test client, logged in as a physician: the whole server side (session, permissions, drafting,
QLS panel, template). The page of a letter with no record is timed beside it as the reference.

    .venv/bin/python bench/bench_clinical.py [--stays 150] [--runs 3] [--opens 30]

Targets: 300 messages/s over 4 connections; opening the pre-filled letter ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from bench_mllp import _free_port, _machine_reference, _send_all, _setup_django, _start_listener

DB_NAME = "liaison_bench_clinical"
TARGET_RATE = 300.0
TARGET_OPEN_MS = 100.0


def _admit(stays: int) -> None:
    from tests.conftest import valid_nir
    from tests.ingest.messages import adt

    from liaison.ingest.apply import process

    for k in range(stays):
        nir = valid_nir(str(1 + k % 2), f"{60 + k % 40:02d}{1 + k % 12:02d}", "45234", f"{k % 1000:03d}")
        out = process(adt("A01", f"ADM-{k}", ipp=f"C{k}", nda=f"S{k}", nir=nir, family=f"PATIENT{k}"))
        assert out.code == "AA", out.reason


def _clinical_streams(run: int, stays: int, connections: int) -> list[list[str]]:
    from tests.ingest.messages import FINESS_EG

    from liaison.clinical import codes, feeds

    out: list[list[str]] = [[] for _ in range(connections)]
    for k in range(stays):
        common = {"ipp": f"C{k}", "nda": f"S{k}", "facility": FINESS_EG, "sent": "202611121000"}
        tests = codes.LAB_TESTS[k % 8 : k % 8 + 5]
        obs = [
            feeds.Obs(
                t.loinc,
                t.label,
                f"{t.high * (1.5 if i == 0 else 0.9):.1f}",
                t.unit,
                t.reference_range,
                "H" if i == 0 else "",
            )
            for i, t in enumerate(tests)
        ]
        orders = [
            feeds.LabOrder(f"R{run}-{k}", "24360-0", "Bilan", "F", "202611110700", obs),
            feeds.LabOrder(f"R{run}-{k}-P", "600-7", "Hémoculture", "I", "202611110700"),
        ]
        meds = [
            feeds.MedOrder(
                f"M{run}-{k}-{i}", d.cis, d.label, d.doses[0], d.unit, "BID", d.route, "O", duration_days=30
            )
            for i, d in enumerate(codes.DRUGS[k % 6 : k % 6 + 6])
        ]
        stream = out[k % connections]
        stream.append(feeds.oru(f"ORU-{run}-{k}", **common, orders=orders, biologist="1&BIO&Anne"))
        stream.append(feeds.pharmacy(f"RDE-{run}-{k}", **common, orders=meds, prescriber="2^DOC^Jean^^^Dr"))
    return out


def _adt_streams(run: int, stays: int, connections: int) -> list[list[str]]:
    from tests.conftest import valid_nir
    from tests.ingest.messages import adt

    out: list[list[str]] = [[] for _ in range(connections)]
    for k in range(stays):
        nir = valid_nir(str(1 + k % 2), f"{60 + k % 40:02d}{1 + k % 12:02d}", "45234", f"{k % 1000:03d}")
        phone_change = {"family": f"PATIENT{k}", "used_family": f"USAGE{run}"}
        out[k % connections].append(
            adt("A08", f"A08-{run}-{k}", ipp=f"C{k}", nda=f"S{k}", nir=nir, **phone_change)
        )
    return out


def _rate(port: int, streams: list[list[str]]) -> float:
    elapsed, count, errors = _send_all(port, streams)
    if errors:
        raise SystemExit(f"{len(errors)} NACK ; premier : {errors[0]!r}")
    return count / elapsed


def _big_record_letter() -> tuple[int, int]:
    """(letter with a full record, letter with none): stays S0 and S1 after their feeds."""
    from tests.ingest.messages import FINESS_EG

    from liaison.clinical import codes, feeds
    from liaison.ingest.apply import process
    from liaison.letters.lifecycle import open_letter
    from liaison.letters.models import Stay

    common = {"ipp": "BIG", "nda": "BIG", "facility": FINESS_EG, "sent": "202611121000"}
    from tests.ingest.messages import adt

    assert process(adt("A01", "BIG-1", ipp="BIG", nda="BIG", family="GRAND")).code == "AA"
    assert process(adt("A01", "EMPTY-1", ipp="EMPTY", nda="EMPTY", family="VIDE")).code == "AA"
    orders = []
    for day in range(5):  # 5 days × 8 tests = 40 results, a quarter abnormal
        obs = [
            feeds.Obs(
                t.loinc,
                t.label,
                f"{t.high * (1.4 if i % 4 == 0 else 0.9):.1f}",
                t.unit,
                t.reference_range,
                "H" if i % 4 == 0 else "",
            )
            for i, t in enumerate(codes.LAB_TESTS[day : day + 8])
        ]
        orders.append(feeds.LabOrder(f"BIG-{day}", "24360-0", "Bilan", "F", f"2026111{day}0700", obs))
    orders.append(feeds.LabOrder("BIG-P", "600-7", "Hémoculture", "I", "202611140700"))
    assert process(feeds.oru("BIG-ORU", **common, orders=orders, biologist="1&BIO&Anne")).code == "AA"
    drugs = codes.DRUGS[:12]
    entry = [
        feeds.MedOrder(f"H{i}", d.cis, d.label, d.doses[0], d.unit, "QD", d.route, "H")
        for i, d in enumerate(drugs[:9])
    ]
    out = [
        feeds.MedOrder(f"O{i}", d.cis, d.label, d.doses[-1], d.unit, "QD", d.route, "O", duration_days=30)
        for i, d in enumerate(drugs[3:])
    ]
    assert (
        process(feeds.pharmacy("BIG-RDE", **common, orders=entry + out, prescriber="2^DOC^Jean^^^Dr")).code
        == "AA"
    )
    coding = [
        feeds.dg1(1, *codes.DIAGNOSES[0], True),
        feeds.dg1(2, *codes.DIAGNOSES[6], False),
        feeds.pr1(1, *codes.PROCEDURES[0], "202611101000"),
        feeds.al1(1, "J01CA04", "Amoxicilline", "DA", "SV", "urticaire"),
    ]
    assert (
        process(adt("A08", "BIG-A08", ipp="BIG", nda="BIG", family="GRAND") + "\r" + "\r".join(coding)).code
        == "AA"
    )
    big = open_letter(Stay.objects.get(visit_number="BIG"))
    empty = open_letter(Stay.objects.get(visit_number="EMPTY"))
    return big.pk, empty.pk


def _open_times(letter_id: int, opens: int) -> tuple[float, list[float]]:
    """ms of the first GET (drafting) and of the next ones."""
    from django.contrib.auth.models import Group, User
    from django.test import Client

    from liaison.letters.models import Establishment, Letter, Unit, UserProfile

    user = User.objects.filter(username="bench_medecin").first()
    if user is None:
        user = User.objects.create_user("bench_medecin")
        user.groups.add(Group.objects.get_or_create(name="medecin")[0])
        profile = UserProfile.objects.create(user=user, establishment=Establishment.objects.get())
        profile.units.set(Unit.objects.all())
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(user)
    times = []
    for _ in range(opens + 1):
        t = time.perf_counter()
        resp = client.get(f"/lettres/{letter_id}/")
        times.append((time.perf_counter() - t) * 1000)
        assert resp.status_code == 200, resp.status_code
    content = Letter.objects.get(pk=letter_id).parsed()
    if content.prefill:
        assert len(content.medications) == 12 and "Résultats significatifs" in content.procedures_and_exams
    return times[0], times[1:]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stays", type=int, default=150, help="séjours par mesure (2 messages cliniques chacun)")
    ap.add_argument("--runs", type=int, default=3, help="mesures (médiane)")
    ap.add_argument("--opens", type=int, default=30, help="ouvertures de la lettre (médiane)")
    args = ap.parse_args()
    _setup_django(DB_NAME)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"Base PostgreSQL {DB_NAME} créée et migrée ; {os.cpu_count()} cœur(s) ; charge {load}.")
    trip, commit = _machine_reference(DB_NAME)
    print(
        f"Référence de la machine : aller-retour PostgreSQL {trip:.0f} µs, "
        f"transaction durable d'un INSERT {commit:.0f} µs."
    )
    _admit(args.stays)
    from django.db import connections

    connections.close_all()
    port = _free_port()
    listener = _start_listener(port, 2, db_name=DB_NAME)
    clinical, adt_rates = [], []
    try:
        _rate(port, _clinical_streams(0, 20, 4))  # warm-up, not counted
        for run in range(1, args.runs + 1):
            clinical.append(_rate(port, _clinical_streams(run, args.stays, 4)))
            adt_rates.append(_rate(port, _adt_streams(run, args.stays, 4)))
    finally:
        listener.terminate()
        listener.wait(timeout=15)
    rate, ref = statistics.median(clinical), statistics.median(adt_rates)
    print(
        f"ORU^R01 + RDE^O11, 4 connexions, 2 processus : {rate:.0f} messages/s "
        f"(médiane de {args.runs} × {2 * args.stays} messages : {', '.join(f'{r:.0f}' for r in clinical)})"
    )
    print(f"Référence, même écouteur : ADT^A08 {ref:.0f} messages/s ; rapport clinique/ADT {rate / ref:.2f}")
    print(f"Objectif {TARGET_RATE:.0f} messages/s : {'atteint' if rate >= TARGET_RATE else 'NON atteint'}.")
    big, empty = _big_record_letter()
    _open_times(empty, 2)  # warm-up, not counted: templates, URL map, BDPM index of the form
    first, again = _open_times(big, args.opens)
    _, reference = _open_times(empty, args.opens)
    median, ref_ms = statistics.median(again), statistics.median(reference)
    print(
        f"Ouverture de la lettre (40 résultats, 12 médicaments) : première (pré-remplissage écrit) "
        f"{first:.0f} ms ; suivantes {median:.0f} ms (médiane de {args.opens}, p95 "
        f"{statistics.quantiles(again, n=20)[-1]:.0f} ms)"
    )
    print(f"Référence, lettre sans dossier clinique : {ref_ms:.0f} ms ; rapport {median / ref_ms:.2f}")
    worst = max(first, median)
    verdict = "atteint" if worst <= TARGET_OPEN_MS else "NON atteint"
    print(f"Objectif {TARGET_OPEN_MS:.0f} ms : {verdict} ({worst:.0f} ms).")


if __name__ == "__main__":
    main()
