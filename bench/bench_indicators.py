"""Benchmark of the establishment indicators on PostgreSQL: one year of a large hospital.

Builds (once, in the database named by --db, recreated) 100,000 stays over one year with their
patients, ~100,000 letters (signed the same day or later, some corrected, some missing) and
~400,000 deliveries (DMP, MSSanté to the médecin traitant, the patient and a professional), loaded
with COPY. Then times `compute.compute()` for the whole year (every SQL indicator, by unit, by
physician and by month, delay distributions) and a naive per-stay Python loop computing the same
numerators and denominators, checks they agree, and prints both and the ratio.

    .venv/bin/python bench/bench_indicators.py [--stays 100000] [--db liaison_ind_bench] [--naive]

Target: under 3 s for all the SQL indicators of the year.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from benchdb import fresh_django_database  # noqa: E402

TARGET_S = 3.0
YEAR = 2025


def setup(db: str) -> None:
    fresh_django_database(db)


def _copy(model, rows: list[dict]) -> None:
    """COPY rows into the model's table; missing columns take the field's default."""
    from django.db import connection
    from django.utils import timezone
    from psycopg.types.json import Jsonb

    fields = [f for f in model._meta.concrete_fields]
    now = timezone.now()

    def default(f):  # type: ignore[no-untyped-def]
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            return now
        if f.has_default():
            return f.get_default()
        return None if f.null else ""

    cols = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cur:
        with cur.cursor.copy(f"COPY {model._meta.db_table} ({cols}) FROM STDIN") as cp:
            for r in rows:
                out = []
                for f in fields:
                    v = r[f.attname] if f.attname in r else default(f)
                    out.append(Jsonb(v) if f.get_internal_type() == "JSONField" else v)
                cp.write_row(out)
        cur.execute(
            f"SELECT setval(pg_get_serial_sequence('{model._meta.db_table}', 'id'), "
            f"(SELECT MAX(id) FROM {model._meta.db_table}))"
        )


def build(stays: int, seed: int = 1) -> None:
    from tests.conftest import valid_finess, valid_nir, valid_rpps

    from liaison.delivery.models import Delivery
    from liaison.letters.models import (
        PARIS,
        Correspondent,
        Establishment,
        Letter,
        Patient,
        Practitioner,
        Stay,
        Unit,
    )

    rng = random.Random(seed)
    est = Establishment.objects.create(
        name="CHU de Banc-d'Essai", finess_ej=valid_finess(1), finess_eg=valid_finess(2)
    )
    units = [
        Unit.objects.create(establishment=est, code=f"U{i}", name=n, sector=s)
        for i, (n, s) in enumerate(
            [
                ("Cardiologie", "MCO"),
                ("Médecine", "MCO"),
                ("Chirurgie", "MCO"),
                ("Pneumologie", "MCO"),
                ("Maternité", "MCO"),
                ("Ambulatoire", "CA"),
                ("SMR", "SMR"),
                ("HAD", "HAD"),
            ]
        )
    ]
    docs = [
        Practitioner.objects.create(
            establishment=est,
            rpps=valid_rpps(i),
            family_name=f"Médecin{i}",
            given_name="Dr",
            profession="medecin",
        )
        for i in range(60)
    ]
    gps = [
        Correspondent.objects.create(
            family_name=f"MG{i}", mssante=f"mg{i}@medecin.mssante.fr" if i % 8 else ""
        )
        for i in range(2000)
    ]
    t0 = dt.datetime(YEAR, 1, 1, tzinfo=PARIS)
    patients, stay_rows, letters, deliveries = [], [], [], []
    nir = valid_nir()
    letter_id = delivery_id = 0
    for i in range(1, stays + 1):
        qualified = rng.random() < 0.85
        patients.append(
            {
                "id": i,
                "establishment_id": est.pk,
                "ipp": f"P{i}",
                "ins_matricule": nir if qualified else None,
                "ins_oid": "1.2.250.1.213.1.4.10" if qualified else "",
                "identity_status": "qualifiee" if qualified else "provisoire",
                "birth_family_name": f"NOM{i}",
                "first_given_name": "Prénom",
                "birth_date": dt.date(1960, 1, 1),
                "sex": "F",
                "medecin_traitant_id": rng.choice(gps).pk if rng.random() < 0.9 else None,
            }
        )
        discharge = t0 + dt.timedelta(minutes=rng.randrange(365 * 24 * 60))
        unit = rng.choice(units)
        stay_rows.append(
            {
                "id": i,
                "establishment_id": est.pk,
                "patient_id": i,
                "unit_id": unit.pk,
                "visit_number": f"V{i}",
                "sector": unit.sector,
                "admission_at": discharge - dt.timedelta(days=rng.randrange(0, 10)),
                "discharge_at": discharge,
                "exit_mode": "deces" if rng.random() < 0.02 else "domicile",
                "responsible_physician_id": rng.choice(docs).pk,
                "cancelled": rng.random() < 0.005,
            }
        )
        if rng.random() < 0.04:
            continue  # no letter
        versions = 2 if rng.random() < 0.04 else 1
        signed = discharge + dt.timedelta(
            days=rng.choices([0, 0, 0, 0, 0, 1, 2, 5], k=1)[0], minutes=rng.randrange(-180, 120)
        )
        for v in range(1, versions + 1):
            letter_id += 1
            doc = rng.choice(docs)
            letters.append(
                {
                    "id": letter_id,
                    "stay_id": i,
                    "version": v,
                    "status": "superseded" if v < versions else "signed",
                    "content": {},
                    "document_oid": f"2.25.{uuid.uuid4().int}",
                    "set_oid": f"2.25.{i}",
                    "signed_at": signed + dt.timedelta(days=v - 1),
                    "signed_by_id": doc.pk,
                    "handed_over_at": signed if v == 1 and rng.random() < 0.75 else None,
                }
            )
            sent = signed + dt.timedelta(minutes=rng.randrange(1, 30))
            for ch, role, addr in (
                ("dmp", "dmp", f"INS{i}"),
                ("mssante", "medecin_traitant", f"mt{i}@x.fr"),
                ("mssante", "patient", f"{i}@patient.mssante.fr"),
                ("mssante", "adresseur", f"ad{i}@x.fr"),
            ):
                delivery_id += 1
                state = rng.choices(["delivered", "read", "sent", "failed"], weights=[55, 25, 15, 5])[0]
                deliveries.append(
                    {
                        "id": delivery_id,
                        "letter_id": letter_id,
                        "channel": ch,
                        "recipient_role": role,
                        "recipient_address": addr,
                        "state": state,
                        "message_id": f"<{delivery_id}@b>",
                        "submission_oid": f"2.25.{delivery_id}",
                        "next_attempt_at": signed,
                        "sent_at": sent if state != "failed" else None,
                        "acknowledged_at": sent + dt.timedelta(minutes=2)
                        if state in ("delivered", "read")
                        else None,
                    }
                )
    _copy(Patient, patients)
    _copy(Stay, stay_rows)
    _copy(Letter, letters)
    _copy(Delivery, deliveries)
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    print(f"Données : {len(stay_rows)} séjours, {len(letters)} lettres, {len(deliveries)} envois.")


def naive(est, start: dt.date, end: dt.date) -> dict[str, tuple[int, int]]:  # type: ignore[no-untyped-def]
    """The same figures with a per-stay Python loop (the approach the SQL cube replaces)."""
    from tests.indicators.test_indicators import naive_figures

    totals, _ = naive_figures(start, end)
    return {k: tuple(v) for k, v in totals.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stays", type=int, default=100_000)
    ap.add_argument("--db", default="liaison_ind_bench")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-naive", action="store_true", help="sans la boucle naïve (longue)")
    a = ap.parse_args()
    setup(a.db)
    t = time.perf_counter()
    build(a.stays)
    print(f"Chargement : {time.perf_counter() - t:.1f} s")
    from liaison.indicators import compute
    from liaison.letters.models import Establishment

    est = Establishment.objects.get()
    start, end = dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31)
    timings = []
    for _ in range(a.runs):
        t = time.perf_counter()
        res = compute.compute(est, start, end, with_qls=False)
        timings.append(time.perf_counter() - t)
    best = min(timings)
    print(
        f"Indicateurs SQL, une année ({res.stays} séjours, {res.deliveries} envois MSSanté) : "
        f"{best:.2f} s (meilleur de {a.runs} ; {', '.join(f'{x:.2f}' for x in timings)}) — "
        f"cible {TARGET_S:.0f} s : {'atteinte' if best < TARGET_S else 'NON atteinte'}"
    )
    if not a.no_naive:
        t = time.perf_counter()
        loop = naive(est, start, end)
        slow = time.perf_counter() - t
        same = all((res.totals[k].numerator, res.totals[k].denominator) == loop[k] for k in loop)
        print(
            f"Boucle Python par séjour : {slow:.1f} s — rapport {slow / best:.0f}× ; "
            f"mêmes chiffres : {'oui' if same else 'NON'}"
        )
    connection_close()


def connection_close() -> None:
    from django.db import connection

    connection.close()


if __name__ == "__main__":
    main()
