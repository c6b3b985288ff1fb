"""Benchmark of the DMP channel: deliveries per second to the sandbox, and signature → sent latency.

Creates its own database (`liaison_bench_dmp`, dropped and created again), migrates it, seeds
one establishment, one physician and `--letters` patients with a qualified test INS, and signs
one letter each (CDA + PDF, validated; DMP delivery only). `liaison dmp-sandbox` then runs as a
separate process (as in the demo), checking every request for real (MTOM, XDS.b schema, LDL-SES
metadata, ANS CDA validation, VIHF signature, patient known in the database).

1. Throughput: every DMP delivery is made due at once while 1 or 2 `liaison worker` processes
   are already running, the sandbox on 1 or 2 processes (`--workers 2`, SO_REUSEPORT);
   deliveries/s = letters / time until the last one is delivered (registry response received).
   A fresh sandbox store each run, the deliveries reset to pending.
2. Latency: an idle outbox and one running `liaison worker` (default poll, 1 s); letters signed
   one at a time; time from the signature to `sent` (and to `delivered`), p50 and p95.

    .venv/bin/python bench/bench_dmp.py [--letters 200] [--runs 3] [--latency 20]

Targets: ≥ 30 deliveries/s; signature → sent p95 < 2 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from benchdb import PG, fresh_django_database  # noqa: E402

DB_NAME = "liaison_bench_dmp"
TARGET_RATE = 30.0
TARGET_P95 = 2.0


def _seed(n: int):  # type: ignore[no-untyped-def]
    """One establishment, one physician (role médecin), n patients with a qualified INS and a stay."""
    from django.contrib.auth.models import Group, User
    from tests.conftest import paris, valid_finess, valid_nir, valid_rpps

    from liaison.core.content import IdentityStatus
    from liaison.core.identifiers import OID_INS_NIR_TEST
    from liaison.letters.models import (
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
        name="CH de Banc d'essai", finess_ej=valid_finess(1), finess_eg=valid_finess(2)
    )
    unit = Unit.objects.create(establishment=est, code="CARDIO", name="Cardiologie", sector="MCO")
    user = User.objects.create_user("bench_medecin", password="x")
    user.groups.add(Group.objects.get_or_create(name=Role.MEDECIN.value)[0])
    UserProfile.objects.create(user=user, establishment=est).units.set([unit])
    doctor = Practitioner.objects.create(
        establishment=est,
        rpps=valid_rpps(100),
        family_name="MEDECIN",
        given_name="Banc",
        profession=Profession.MEDECIN,
        user=user,
    )
    stays = []
    for i in range(n):
        patient = Patient.objects.create(
            establishment=est,
            ipp=f"IPP{i:06d}",
            ins_matricule=valid_nir(order=f"{i % 1000:03d}", place=f"{45234 + i // 1000:05d}"),
            birth_place_cog=f"{45234 + i // 1000:05d}",
            ins_oid=OID_INS_NIR_TEST,
            identity_status=IdentityStatus.QUALIFIEE,
            birth_family_name=f"PATIENT{i}",
            first_given_name="Banc",
            given_names="Banc",
            birth_date=dt.date(1960, 1, 1) + dt.timedelta(days=i),
            sex="F",
        )
        stays.append(
            Stay.objects.create(
                establishment=est,
                patient=patient,
                unit=unit,
                visit_number=f"V{i:06d}",
                sector="MCO",
                admission_at=paris(2026, 1, 10, 9),
                discharge_at=paris(2026, 1, 14, 15),
                entry_mode="urgence",
                exit_mode="domicile",
                responsible_physician=doctor,
            )
        )
    return user, stays


def _sign(user, stay):  # type: ignore[no-untyped-def]
    from tests.conftest import complete_content_updates

    from liaison import signing
    from liaison.letters import lifecycle

    letter = lifecycle.open_letter(stay)
    content = letter.parsed().model_copy(update={**complete_content_updates(), "recipients": []})
    lifecycle.save_draft(letter.pk, content, letter.revision, user)
    return signing.sign(letter.pk, user)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(url: str) -> dict[str, str]:
    """The environment of a sandbox or worker: the benchmark's database (as `fresh_django_database`
    set it), the DMP at `url`, no MSSanté; the demo seal (no LIAISON_DMP_CERT), which the sandbox
    trusts through `--trust` its authority."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIAISON_MSS", "LIAISON_DMP_"))}
    env.update(
        DATABASE_URL=os.environ.get("DATABASE_URL", f"{PG}/{DB_NAME}"),
        LIAISON_DMP_URL=url,
        PYTHONPATH=str(ROOT / "src"),
    )
    return env


def _start_sandbox(port: int, store: Path, processes: int = 1) -> subprocess.Popen:
    from liaison.delivery import vihf

    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "liaison.cli", "dmp-sandbox", "--port", str(port)),
            *("--store", str(store), "--workers", str(processes)),
            *("--trust", str(vihf.demo_authority())),
        ],
        env=_env(""),
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=1).read()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("le bac à sable DMP n'a pas démarré")


def _start_workers(url: str, n: int, poll: float) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(
            [sys.executable, "-m", "liaison.cli", "worker", "--poll", str(poll)],
            env=_env(url),
            stdout=subprocess.DEVNULL,
        )
        for _ in range(n)
    ]


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


def _throughput(letters: int, workers: int, sandboxes: int) -> float:
    from django.db import connections
    from django.utils import timezone

    from liaison.delivery.models import Delivery

    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="bench-dmp-") as store:
        far = timezone.now() + dt.timedelta(days=1)
        Delivery.objects.filter(channel="dmp").update(
            state=Delivery.State.PENDING, attempts=0, next_attempt_at=far, sent_at=None, acknowledged_at=None
        )
        sandbox = _start_sandbox(port, Path(store), sandboxes)
        url = f"http://127.0.0.1:{port}/"
        procs = _start_workers(url, workers, 0.05)
        try:
            time.sleep(3)  # workers started and idle
            start = time.perf_counter()
            Delivery.objects.filter(channel="dmp").update(next_attempt_at=timezone.now())
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                left = Delivery.objects.filter(channel="dmp").exclude(state=Delivery.State.DELIVERED).count()
                if left == 0:
                    break
                bad = Delivery.objects.filter(channel="dmp", state__in=["failed", "given_up"]).first()
                if bad:
                    raise SystemExit(f"échec d'envoi : {bad.last_error}")
                time.sleep(0.02)
            elapsed = time.perf_counter() - start
            stats = urllib.request.urlopen(f"{url}stats", timeout=5).read().decode()
        finally:
            _stop(procs)
            _stop([sandbox])
            connections.close_all()
    print(
        f"    {letters} lettres en {elapsed:.2f} s — {letters / elapsed:.1f} envois/s — bac à sable : {stats}"
    )
    return letters / elapsed


def _latency(user, stays, runs: int) -> tuple[list[float], list[float]]:  # type: ignore[no-untyped-def]
    from liaison.delivery.models import Delivery

    port = _free_port()
    to_sent, to_delivered = [], []
    with tempfile.TemporaryDirectory(prefix="bench-dmp-") as store:
        sandbox = _start_sandbox(port, Path(store))
        url = f"http://127.0.0.1:{port}/"
        procs = _start_workers(url, 1, 1.0)
        try:
            time.sleep(3)
            for i, stay in enumerate(stays[:runs]):
                letter = _sign(user, stay)
                d = Delivery.objects.get(letter=letter, channel="dmp")
                deadline = time.monotonic() + 30
                while d.state != Delivery.State.DELIVERED and time.monotonic() < deadline:
                    time.sleep(0.01)
                    d.refresh_from_db()
                if d.state != Delivery.State.DELIVERED:
                    raise SystemExit(f"lettre {letter.pk} non versée : {d.state} {d.last_error}")
                to_sent.append((d.sent_at - letter.signed_at).total_seconds())
                to_delivered.append((d.acknowledged_at - letter.signed_at).total_seconds())
                time.sleep(0.137 * (i % 7))  # signatures at irregular moments of the worker's poll
        finally:
            _stop(procs)
            _stop([sandbox])
    return to_sent, to_delivered


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--letters", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency", type=int, default=20, help="lettres signées une à une")
    args = parser.parse_args()
    fresh_django_database(DB_NAME)
    user, stays = _seed(args.letters + args.latency)
    t = time.perf_counter()
    for stay in stays[: args.letters]:
        _sign(user, stay)
    print(f"{args.letters} lettres signées en {time.perf_counter() - t:.1f} s (CDA + PDF validés)")

    results = {}
    for workers, sandboxes in ((1, 1), (2, 1), (2, 2)):
        print(f"Débit, {workers} worker(s), bac à sable sur {sandboxes} processus :")
        rates = [_throughput(args.letters, workers, sandboxes) for _ in range(args.runs)]
        results[(workers, sandboxes)] = statistics.median(rates)
    print(f"Latence signature → envoyé, outbox au repos, 1 worker (poll 1 s), {args.latency} lettres :")
    sent, delivered = _latency(user, stays[args.letters :], args.latency)
    print("    signature → envoyé (s) : " + " ".join(f"{v:.2f}" for v in sent))
    print()
    for (workers, sandboxes), rate in results.items():
        verdict = "OK" if rate >= TARGET_RATE else "sous la cible"
        print(
            f"médiane débit, {workers} worker(s), bac à sable × {sandboxes} : {rate:.1f} envois/s "
            f"(cible ≥ {TARGET_RATE:g}) {verdict}"
        )
    p95 = _p95(sent)
    verdict = "OK" if p95 < TARGET_P95 else "au-dessus de la cible"
    print(
        f"signature → envoyé : médiane {statistics.median(sent):.2f} s, p95 {p95:.2f} s "
        f"(cible < {TARGET_P95:g} s) {verdict}"
    )
    print(
        f"signature → reçu (réponse du registre) : médiane {statistics.median(delivered):.2f} s, "
        f"p95 {_p95(delivered):.2f} s"
    )


if __name__ == "__main__":
    main()
