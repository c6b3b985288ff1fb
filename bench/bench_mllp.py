"""Benchmark of the MLLP listener: ADT messages per second, 1 and 4 connections, PostgreSQL.

Creates its own database (`liaison_bench_mllp`, dropped and created again), migrates it, seeds
one establishment with its units and physicians, starts `liaison mllp` as a separate process
(as in production) and sends admission → transfer → discharge sequences of synthetic patients
(test NIR OID), each message waiting for its ACK as a GAM does. Every message is applied for
real: new patients, stays, pre-filled letters, audit rows. Prints the median of several runs.

    .venv/bin/python bench/bench_mllp.py [--patients 200] [--runs 3] [--no-prepared]

Three configurations: 1 connection and 1 listener process; 4 connections and 1 process; 4
connections and `--workers 2` (one process per core, each connection to the least busy). Each
listener is warmed up first (not counted). The listener binds parameters on the server and
prepares its repeated statements (`liaison.ingest.mllp.use_prepared_statements`);
`--no-prepared` measures it without.

The machine's load average is printed before and after, with its floor measured at the same time
(one PostgreSQL round trip, one durable transaction of one INSERT): the client, the listener and
PostgreSQL share two cores, and this VM's figures drift by half from one hour to the next.

Target: 300 messages/s on the 2-core development machine.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from benchdb import PG, fresh_django_database  # noqa: E402

DB_NAME = "liaison_bench_mllp"
TARGET = 300.0


def _setup_django(db_name: str = DB_NAME) -> None:
    fresh_django_database(db_name)
    from tests.conftest import valid_finess, valid_rpps

    from liaison.letters.models import Establishment, Practitioner, Profession, Unit

    est = Establishment.objects.create(
        name="CH de Banc d'essai", finess_ej=valid_finess(1), finess_eg=valid_finess(2)
    )
    for code, name in (("CARDIO", "Cardiologie"), ("MATER", "Maternité"), ("MEDINT", "Médecine interne")):
        Unit.objects.create(establishment=est, code=code, name=name)
    for i in range(5):
        Practitioner.objects.create(
            establishment=est,
            rpps=valid_rpps(100 + i),
            family_name=f"MEDECIN{i}",
            given_name="Banc",
            profession=Profession.MEDECIN,
        )
    from django.db import connections

    connections.close_all()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_listener(
    port: int, workers: int, prepared: bool = True, db_name: str = DB_NAME
) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": f"{PG}/{db_name}"}
    env["LIAISON_PG_SERVER_SIDE_BINDING"] = "1" if prepared else "0"
    proc = subprocess.Popen(
        [sys.executable, "-m", "liaison.cli", "mllp", "--port", str(port), "--workers", str(workers)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode()) from None
            time.sleep(0.2)
    raise RuntimeError("le serveur MLLP n'a pas démarré en 30 s")


def _sequences(run: int, patients: int, connections: int) -> list[list[str]]:
    """Per connection: admission, transfer, discharge of its own patients."""
    from tests.conftest import valid_nir, valid_rpps
    from tests.ingest.messages import adt

    out: list[list[str]] = [[] for _ in range(connections)]
    for k in range(patients):
        ipp, nda = f"B{run}-{k}", f"N{run}-{k}"
        nir = valid_nir(str(1 + k % 2), f"{60 + k % 40:02d}{1 + k % 12:02d}", "45234", f"{k % 1000:03d}")
        common = dict(ipp=ipp, nda=nda, nir=nir, family=f"PATIENT{k}", gp_rpps=valid_rpps(900 + k % 50))
        stream = out[k % connections]
        stream.append(
            adt("A01", f"R{run}-{k}-1", attending_rpps=valid_rpps(100 + k % 5), zfm="8||5", **common)
        )
        stream.append(adt("A02", f"R{run}-{k}-2", unit="MEDINT", **common))
        stream.append(
            adt("A03", f"R{run}-{k}-3", unit="MEDINT", discharge="202611141500", zfm="|8", **common)
        )
    return out


def _send_all(port: int, streams: list[list[str]]) -> tuple[float, int, list[str]]:
    from liaison.ingest.mllp import MLLPClient

    errors: list[str] = []
    barrier = threading.Barrier(len(streams) + 1)

    def run(messages: list[str]) -> None:
        with MLLPClient("127.0.0.1", port) as client:
            barrier.wait()
            for m in messages:
                ack = client.send(m)
                if "MSA|AA|" not in ack:
                    errors.append(ack)

    threads = [threading.Thread(target=run, args=(s,)) for s in streams]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - start, sum(len(s) for s in streams), errors


def _machine_reference(db_name: str = DB_NAME) -> tuple[float, float]:
    """The floor under every message, measured now (the figures of this VM drift from one hour
    to the next): microseconds of one round trip (SELECT 1) and of one durable transaction
    holding one INSERT, medians over 500."""
    import psycopg

    with psycopg.connect(f"{PG}/{db_name}", autocommit=True, prepare_threshold=0) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_reference (v text)")
        trips, commits = [], []
        for _ in range(500):
            t = time.perf_counter()
            conn.execute("SELECT 1").fetchone()
            trips.append(time.perf_counter() - t)
            t = time.perf_counter()
            with conn.transaction():
                conn.execute("INSERT INTO bench_reference VALUES (%s)", ("x",))
            commits.append(time.perf_counter() - t)
        conn.execute("DROP TABLE bench_reference")
    return statistics.median(trips) * 1e6, statistics.median(commits) * 1e6


def _parser_costs() -> dict[str, float]:
    """Milliseconds to parse one message: ours (str.split + PAM.fr mapping), python-hl7's own
    parser (tokens only), hl7apy (if installed)."""
    from tests.ingest.messages import adt

    from liaison.ingest import hl7v2

    text = adt("A01", "P", gp_rpps="10000009007", zfm="8||5")
    costs = {}
    n = 500
    t = time.perf_counter()
    for _ in range(n):
        hl7v2.parse(text)
    costs["str.split + mapping PAM.fr (liaison.ingest.hl7v2.parse)"] = (time.perf_counter() - t) / n * 1000
    import hl7

    t = time.perf_counter()
    for _ in range(n):
        hl7.parse(text.replace("\n", "\r"))
    costs["python-hl7 (hl7.parse seul, découpage sans mapping)"] = (time.perf_counter() - t) / n * 1000
    try:
        from hl7apy.consts import VALIDATION_LEVEL
        from hl7apy.parser import parse_message
    except ImportError:
        return costs
    n = 50
    t = time.perf_counter()
    for _ in range(n):
        parse_message(text, validation_level=VALIDATION_LEVEL.TOLERANT, find_groups=False)
    costs["hl7apy (parse_message seul, tolérant, sans groupes)"] = (time.perf_counter() - t) / n * 1000
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=200, help="patients par mesure (3 messages chacun)")
    parser.add_argument("--runs", type=int, default=3, help="mesures par configuration (médiane)")
    parser.add_argument(
        "--no-prepared", action="store_true", help="sans requêtes préparées côté serveur (comparaison)"
    )
    args = parser.parse_args()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())

    _setup_django()
    print(f"Base PostgreSQL {DB_NAME} créée et migrée ; {os.cpu_count()} cœur(s) ; charge {load}.")
    print("Requêtes préparées côté serveur : " + ("non" if args.no_prepared else "oui"))
    trip, commit = _machine_reference()
    print(
        f"Référence de la machine : aller-retour PostgreSQL {trip:.0f} µs, "
        f"transaction durable d'un INSERT {commit:.0f} µs (médianes)."
    )
    for label, ms in _parser_costs().items():
        print(f"  analyse d'un A01 : {ms:.2f} ms — {label}")
    results: dict[tuple[int, int], float] = {}
    run = 0
    for workers, connections in ((1, 1), (1, 4), (2, 4)):
        port = _free_port()
        listener = _start_listener(port, workers, prepared=not args.no_prepared)
        try:
            # Warm-up, not counted: the listener's connections prepare their statements.
            run += 1
            _send_all(port, _sequences(run, 20 * connections, connections))
            rates = []
            for _ in range(args.runs):
                run += 1
                streams = _sequences(run, args.patients, connections)
                elapsed, count, errors = _send_all(port, streams)
                if errors:
                    raise SystemExit(f"{len(errors)} NACK ; premier : {errors[0]!r}")
                rates.append(count / elapsed)
        finally:
            listener.terminate()
            listener.wait(timeout=15)
        results[(workers, connections)] = statistics.median(rates)
        detail = ", ".join(f"{r:.0f}" for r in rates)
        print(
            f"{connections} connexion(s) MLLP, {workers} processus d'écoute : "
            f"{results[(workers, connections)]:.0f} messages/s "
            f"(médiane de {args.runs} mesures de {args.patients * 3} messages : {detail})"
        )
    print("Charge de la machine après les mesures : " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    for key, label in (((1, 1), "1 connexion"), ((2, 4), "4 connexions, 2 processus")):
        verdict = "atteint" if results[key] >= TARGET else "NON atteint"
        print(f"Objectif {TARGET:.0f} messages/s, {label} : {verdict} ({results[key]:.0f}).")


if __name__ == "__main__":
    main()
