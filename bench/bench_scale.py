"""Benchmark of Liaison across processes: DMP deliveries/s with 1, 2 and 4 `liaison worker`
processes draining one outbox, and where the time goes.

Each worker is a separate OS process with its own database connection, as a worker on another
host would be: nothing is shared between them but PostgreSQL (the claim is `SELECT … FOR UPDATE
SKIP LOCKED`). Creates its own database (`liaison_bench_scale`, dropped and created again),
seeds one establishment and `--letters` patients, signs one letter each (real CDA + PDF,
validated; DMP delivery only), then for each worker count, interleaved within each run so that
the VM's drift weighs on all alike:

- a fresh `liaison dmp-sandbox` (real checks: MTOM, XDS.b schema, LDL-SES metadata, ANS CDA
  validation, VIHF signature) on loopback, the deliveries reset to pending and not yet due;
- N workers started (`--poll 0.05`) and waited for (their first heartbeat);
- every delivery made due at once; rate = letters / (last `sent` − moment they were made due);
- checked: every delivery delivered after exactly one attempt and one « sent » event, the
  sandbox holding exactly `--letters` documents with no refusal (a second send of a document
  would be refused there as a duplicate uniqueId): nothing sent twice, nothing lost;
- CPU seconds (from /proc) over the drain of the workers, of the sandbox and of the PostgreSQL
  backends of this database (sampled while draining), PostgreSQL's active time
  (`pg_stat_database.active_time`: time spent executing statements), and how busy the whole
  machine was (/proc/stat: other programs of the machine included).

The sandbox runs on the same cores as the workers and PostgreSQL: on a 2-core machine 4 workers
cannot go faster than the cores allow. The CPU per delivery of each part tells where the next
bottleneck is. The machine's reference is measured in the same run: one PostgreSQL round trip,
one durable INSERT (`bench_mllp._machine_reference`), and the in-process time to build and seal
one ITI-41 request (the worker's own work, without the network).

With `--web`, the same database is also served by `liaison serve` (gunicorn) with 1 then 2
worker processes, and 8 client threads read `/sante/?format=json` (a page that reads the
database: counts of the outbox, heartbeats, last messages) for `--web-seconds`: requests/s and
the ratio of 2 processes to 1, interleaved in each run. The client shares the same cores.

    .venv/bin/python bench/bench_scale.py [--letters 200] [--runs 3] [--workers 1,2,4] [--sandboxes 2]
                                          [--web [--web-seconds 5]]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_dmp import _free_port, _seed, _sign, _start_sandbox, _start_workers, _stop  # noqa: E402
from bench_mllp import _machine_reference  # noqa: E402
from benchdb import fresh_django_database  # noqa: E402

DB_NAME = "liaison_bench_scale"
TICK = os.sysconf("SC_CLK_TCK")


# --- CPU accounting from /proc (Linux) ----------------------------------------------------------


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by process `pid`; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14 and 15)


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all cores so far (/proc/stat), every program of the machine."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


class BackendCpu:
    """CPU of the PostgreSQL backends serving this database, sampled while the drain runs: each
    backend's CPU from its first sighting to its last (a backend opened during the drain is
    counted from its first sample, so the connection start is left out)."""

    def __init__(self, cursor, exclude: int) -> None:  # type: ignore[no-untyped-def]
        self.cursor, self.exclude = cursor, exclude
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}

    def sample(self) -> None:
        self.cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> %s",
            [self.exclude],
        )
        for (pid,) in self.cursor.fetchall():
            used = _cpu(pid)
            self.first.setdefault(pid, used)
            if used:
                self.last[pid] = used

    def seconds(self) -> float:
        return sum(self.last.get(pid, first) - first for pid, first in self.first.items())


def _active_ms(cursor) -> float:  # type: ignore[no-untyped-def]
    cursor.execute("SELECT pg_stat_clear_snapshot()")
    cursor.execute("SELECT active_time FROM pg_stat_database WHERE datname = current_database()")
    return float(cursor.fetchone()[0] or 0.0)


# --- one drain ----------------------------------------------------------------------------------


@dataclass
class Drain:
    workers: int
    rate: float
    seconds: float
    worker_cpu: float  # CPU seconds over the drain, all workers
    sandbox_cpu: float
    pg_cpu: float  # backends of this database, sampled
    pg_active: float  # seconds executing statements (pg_stat_database.active_time)
    busy: float  # fraction of all cores busy, every program of the machine
    claimed_by: int  # how many workers took part


def _wait_for_heartbeats(procs, since: dt.datetime) -> None:  # type: ignore[no-untyped-def]
    """Wait until every worker process has written its first heartbeat (it is then in its loop)."""
    import socket

    from liaison.pulse.models import Heartbeat

    names = {f"{socket.gethostname()}:{p.pid}"[:100] for p in procs}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            raise SystemExit("un worker s'est arrêté au démarrage")
        seen = set(
            Heartbeat.objects.filter(process="worker", instance__in=names, beat_at__gte=since).values_list(
                "instance", flat=True
            )
        )
        if seen == names:
            return
        time.sleep(0.1)
    raise SystemExit("les workers n'ont pas démarré dans les 120 s")


def _drain(letters: int, workers: int, sandboxes: int) -> Drain:
    from django.db import connection, connections
    from django.db.models import Count, Max
    from django.utils import timezone

    from liaison.delivery.models import Delivery, DeliveryEvent

    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as store:
        dmp = Delivery.objects.filter(channel="dmp")
        dmp.update(
            state=Delivery.State.PENDING,
            attempts=0,
            next_attempt_at=timezone.now() + dt.timedelta(days=1),
            sent_at=None,
            acknowledged_at=None,
            claimed_by="",
            claimed_at=None,
        )
        sandbox = _start_sandbox(port, Path(store), sandboxes)
        url = f"http://127.0.0.1:{port}/"
        started = timezone.now()
        procs = _start_workers(url, workers, 0.05)
        try:
            _wait_for_heartbeats(procs, started)
            time.sleep(0.5)
            cursor = connection.cursor()
            cursor.execute("SELECT pg_backend_pid()")
            backends = BackendCpu(cursor, cursor.fetchone()[0])
            sandbox_pids = [sandbox.pid, *_children(sandbox.pid)]
            cpu0 = [_cpu(p.pid) for p in procs], [_cpu(p) for p in sandbox_pids]
            active0, busy0 = _active_ms(cursor), _machine_busy()
            backends.sample()
            start = timezone.now()
            dmp.update(next_attempt_at=start)
            deadline = time.monotonic() + 600
            while dmp.exclude(state=Delivery.State.DELIVERED).exists():
                if time.monotonic() > deadline:
                    raise SystemExit("envois non terminés après 600 s")
                bad = dmp.filter(state__in=["failed", "given_up"]).first()
                if bad:
                    raise SystemExit(f"échec d'envoi : {bad.last_error}")
                backends.sample()
                time.sleep(0.05)
            busy1 = _machine_busy()
            cpu1 = [_cpu(p.pid) for p in procs], [_cpu(p) for p in sandbox_pids]
            backends.sample()
            stats = urllib.request.urlopen(f"{url}stats", timeout=5).read().decode()
        finally:
            _stop(procs)
            _stop([sandbox])
        active1 = _active_ms(connection.cursor())  # the workers' backends have exited: flushed
        last = dmp.aggregate(m=Max("sent_at"))["m"]
        elapsed = (last - start).total_seconds()
        # Nothing sent twice, nothing lost.
        import json

        held = json.loads(stats)
        once = dmp.filter(attempts=1, state=Delivery.State.DELIVERED).count()
        sent_events = DeliveryEvent.objects.filter(delivery__channel="dmp", state="sent", at__gte=start)
        twice = sent_events.values("delivery").annotate(n=Count("id")).filter(n__gt=1).count()
        problems = []
        if held["documents"] != letters or held["accepted"] != letters or held["refused"]:
            problems.append(f"bac à sable : {stats} (attendu {letters} documents, aucun refus)")
        if once != letters or sent_events.count() != letters or twice:
            problems.append(
                f"outbox : {once} envois reçus en un essai, {sent_events.count()} événements « envoyé », "
                f"{twice} envois envoyés deux fois (attendu {letters}, {letters}, 0)"
            )
        if problems:
            raise SystemExit("doublon ou perte : " + " ; ".join(problems))
        claimed_by = dmp.values("claimed_by").distinct().count()
        connections.close_all()
    return Drain(
        workers=workers,
        rate=letters / elapsed,
        seconds=elapsed,
        worker_cpu=sum(cpu1[0]) - sum(cpu0[0]),
        sandbox_cpu=sum(cpu1[1]) - sum(cpu0[1]),
        pg_cpu=backends.seconds(),
        pg_active=(active1 - active0) / 1000,
        busy=(busy1[0] - busy0[0]) / max(busy1[1] - busy0[1], 1),
        claimed_by=claimed_by,
    )


def _build_ms(samples: int = 20) -> float:
    """Milliseconds to build and seal one ITI-41 request in this process (median): the
    worker's own CPU per delivery, network and peer left out; also a reference of the CPU speed."""
    from liaison.delivery import dmp
    from liaison.delivery.models import Delivery

    sender = dmp.DmpSender(dmp.DmpConfig(url="http://127.0.0.1:9/"))
    deliveries = list(Delivery.objects.filter(channel="dmp").order_by("id")[: samples + 2])
    sender.build(deliveries[0])  # warm: validators, credentials
    times = []
    for d in deliveries[1:]:
        t = time.perf_counter()
        sender.build(d)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def _serve(processes: int, static: str) -> tuple[object, str]:
    """`liaison serve` (gunicorn) on a free loopback port with `processes` web workers."""
    import subprocess

    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "LIAISON_SECRET_KEY": "banc-d-essai-" + "x" * 50,
        "LIAISON_ALLOWED_HOSTS": "127.0.0.1",
        "LIAISON_WEB_WORKERS": str(processes),
        "LIAISON_STATIC_ROOT": static,
        "LIAISON_SSL_REDIRECT": "0",
    }
    env.pop("LIAISON_DEBUG", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "liaison.cli", "serve", "--addr", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/sante/?format=json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            for _ in range(processes * 4):  # every gunicorn worker has answered once
                urllib.request.urlopen(url, timeout=5).read()
            return proc, url
        except OSError:
            time.sleep(0.2)
    _stop([proc])
    raise SystemExit("liaison serve n'a pas démarré")


def _load(url: str, seconds: float, threads: int = 8) -> float:
    """Requests/s answered 200 by `url` under `threads` concurrent clients for `seconds`."""
    import threading

    done = [0] * threads
    stop = time.monotonic() + seconds

    def client(i: int) -> None:
        while time.monotonic() < stop:
            with urllib.request.urlopen(url, timeout=10) as r:
                r.read()
                if r.status == 200:
                    done[i] += 1

    pool = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    t = time.perf_counter()
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    return sum(done) / (time.perf_counter() - t)


def _web(runs: int, seconds: float) -> None:
    rates: dict[int, list[float]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory(prefix="bench-scale-static-") as static:
        for run in range(runs):
            line = []
            for processes in (1, 2):
                proc, url = _serve(processes, static)
                try:
                    rate = _load(url, seconds)
                finally:
                    _stop([proc])
                rates[processes].append(rate)
                line.append(f"{processes} processus {rate:.0f} req/s")
            print(f"    passe {run + 1} : " + ", ".join(line))
    ratios = [b / a for a, b in zip(rates[1], rates[2], strict=True)]
    one, two = statistics.median(rates[1]), statistics.median(rates[2])
    print(
        f"Web, /sante/ (lit la base), 8 clients : 1 processus gunicorn {one:.0f} req/s, "
        f"2 processus {two:.0f} req/s (×{statistics.median(ratios):.2f}, "
        "médianes ; le client partage les mêmes cœurs)"
    )


def _ms(seconds: float, letters: int) -> str:
    return f"{seconds / letters * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--letters", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", default="1,2,4", help="nombres de workers, séparés par des virgules")
    parser.add_argument("--web", action="store_true", help="mesurer aussi 1 et 2 processus web")
    parser.add_argument("--web-seconds", type=float, default=5.0)
    parser.add_argument(
        "--sandboxes", type=int, default=2, help="processus du bac à sable DMP (un par cœur : son GIL)"
    )
    args = parser.parse_args()
    counts = sorted({int(w) for w in args.workers.split(",")})
    if counts[0] != 1:
        counts.insert(0, 1)  # the reference of the ratios
    cores = os.cpu_count() or 1
    print(f"Machine : {cores} cœurs ; charge {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (1 et 5 min)")
    fresh_django_database(DB_NAME)
    user, stays = _seed(args.letters)
    t = time.perf_counter()
    for stay in stays:
        _sign(user, stay)
    print(f"{args.letters} lettres signées en {time.perf_counter() - t:.1f} s (CDA + PDF validés)")
    trip, commit = _machine_reference(DB_NAME)
    build = _build_ms()
    print(
        f"Référence de la machine : aller-retour PostgreSQL {trip:.0f} µs, INSERT durable {commit:.0f} µs, "
        f"requête ITI-41 construite et scellée en processus {build:.1f} ms"
    )
    print(
        f"Bac à sable DMP sur {args.sandboxes} processus, sur les mêmes {cores} cœurs que les workers "
        "et PostgreSQL."
    )
    drains: dict[int, list[Drain]] = {w: [] for w in counts}
    ratios: dict[int, list[float]] = {w: [] for w in counts}
    for run in range(args.runs):
        print(f"Passe {run + 1} :")
        this_run = {}
        for w in counts:
            d = _drain(args.letters, w, args.sandboxes)
            this_run[w] = d
            drains[w].append(d)
            n = args.letters
            print(
                f"    {w} worker(s) : {n} lettres en {d.seconds:.2f} s — {d.rate:.1f} envois/s — "
                f"CPU par envoi : workers {_ms(d.worker_cpu, n)}, bac à sable {_ms(d.sandbox_cpu, n)}, "
                f"PostgreSQL {_ms(d.pg_cpu, n)} (temps actif {_ms(d.pg_active, n)}) — machine occupée "
                f"{d.busy:.0%} — {d.claimed_by} worker(s) ont pris des envois — aucun doublon, aucune perte"
            )
        for w in counts:
            ratios[w].append(this_run[w].rate / this_run[1].rate)
    print()
    print(f"Médianes sur {args.runs} passes ({args.letters} lettres, {cores} cœurs) :")
    for w in counts:
        ds, n = drains[w], args.letters
        med = statistics.median
        print(
            f"  {w} worker(s) : {med(d.rate for d in ds):.1f} envois/s, ×{med(ratios[w]):.2f} vs 1 worker "
            f"(même passe) — CPU par envoi : workers {_ms(med(d.worker_cpu for d in ds), n)}, "
            f"bac à sable {_ms(med(d.sandbox_cpu for d in ds), n)}, "
            f"PostgreSQL {_ms(med(d.pg_cpu for d in ds), n)} "
            f"(temps actif {_ms(med(d.pg_active for d in ds), n)}) — machine occupée "
            f"{med(d.busy for d in ds):.0%}"
        )
    one = drains[1]
    w_ms = statistics.median(d.worker_cpu for d in one) / args.letters * 1000
    s_ms = statistics.median(d.sandbox_cpu for d in one) / args.letters * 1000
    p_ms = statistics.median(d.pg_cpu for d in one) / args.letters * 1000
    total = w_ms + s_ms + p_ms
    print(
        f"Plafond de ces {cores} cœurs : {cores * 1000 / total:.0f} envois/s "
        f"({total:.1f} ms de CPU par envoi, dont bac à sable {s_ms / total:.0%}, workers {w_ms / total:.0%}, "
        f"PostgreSQL {p_ms / total:.0%})."
    )
    print(
        f"Sans le bac à sable (le vrai DMP est ailleurs) : un cœur de worker ≈ {1000 / w_ms:.0f} envois/s, "
        f"un cœur de PostgreSQL ≈ {1000 / max(p_ms, 0.01):.0f} envois/s."
    )
    if args.web:
        print("Web (liaison serve, gunicorn) :")
        _web(args.runs, args.web_seconds)


if __name__ == "__main__":
    main()
