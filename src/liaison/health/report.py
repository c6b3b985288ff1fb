"""The health report of `/sante/` (and of the metrics): what an IT team watches, no patient data.

`status` (the monitoring contract): "ok"; "degraded" when Liaison works but something needs a
person (a background process silent, a delivery given up or failing for more than an hour, due
deliveries waiting for more than `OUTBOX_LATE`); "down" when the database does not answer.
Thresholds (`config.HealthConfig`, in `settings.LIAISON_HEALTH`): `LIAISON_HEALTH_STALE_SECONDS`
(a process whose last heartbeat is older is « silencieux », 180 s by default) and
`LIAISON_HEALTH_PROCESSES` (the processes expected, comma-separated, "worker,listener,acks" by
default; unknown names are ignored).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Count, Min, Q
from django.utils import timezone

from liaison import dbclock
from liaison.delivery import outbox
from liaison.delivery.models import Delivery
from liaison.health.config import HealthConfig
from liaison.ingest.models import InboundMessage
from liaison.pulse.models import Heartbeat

OUTBOX_LATE = dt.timedelta(minutes=10)
OK, DEGRADED, DOWN = "ok", "degraded", "down"
STATUS_LABELS = {OK: "Fonctionne", DEGRADED: "Dégradé : une action est attendue", DOWN: "En panne"}
PROCESS_LABELS = dict(Heartbeat.Process.choices)


def configured() -> HealthConfig:
    """The web process's health configuration, read once by the settings."""
    config: HealthConfig = settings.LIAISON_HEALTH
    return config


@dataclass
class Report:
    status: str
    checked_at: dt.datetime
    database: dict[str, Any]
    processes: dict[str, dict[str, Any]] = field(default_factory=dict)
    outbox: dict[str, Any] = field(default_factory=dict)
    inbound: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    instances: list[Heartbeat] = field(default_factory=list)  # HTML page only (host names)

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "checked_at": _iso(self.checked_at),
            "database": self.database,
            "processes": self.processes,
            "outbox": self.outbox,
            "inbound": self.inbound,
            "problems": self.problems,
        }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _age(now: dt.datetime, then: dt.datetime | None) -> int | None:
    return int((now - then).total_seconds()) if then else None


def build(config: HealthConfig | None = None) -> Report:
    """The report now; `config` defaults to the settings' (`settings.LIAISON_HEALTH`)."""
    config = config or configured()
    now = timezone.now()
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        latency = round((time.perf_counter() - started) * 1000, 1)
        now = dbclock.now()  # heartbeats and deliveries were dated by the database's clock
    except DatabaseError as exc:
        connection.close()
        return Report(
            DOWN,
            now,
            {"ok": False, "error": "base de données injoignable"},
            problems=[f"La base de données ne répond pas ({type(exc).__name__})."],
        )
    report = Report(OK, now, {"ok": True, "latency_ms": latency})
    _processes(report, now, config)
    _outbox(report, now)
    _inbound(report, now)
    if report.problems:
        report.status = DEGRADED
    return report


def _processes(report: Report, now: dt.datetime, config: HealthConfig) -> None:
    rows = list(Heartbeat.objects.order_by("process", "-beat_at"))
    report.instances = [r for r in rows if now - r.beat_at < dt.timedelta(days=1)]
    limit = config.stale_after
    expected = [p for p in config.processes if p in PROCESS_LABELS]
    for process, label in PROCESS_LABELS.items():
        mine = [r for r in rows if r.process == process]
        last = mine[0].beat_at if mine else None
        alive = [r for r in mine if now - r.beat_at <= limit]
        state = "ok" if alive else ("stale" if last else "missing")
        report.processes[process] = {
            "status": state,
            "expected": process in expected,
            "last_heartbeat": _iso(last),
            "age_seconds": _age(now, last),
            "instances_alive": len(alive),
        }
        if process in expected and state == "missing":
            report.problems.append(f"{label} : aucun signe de vie reçu.")
        elif process in expected and state == "stale":
            report.problems.append(f"{label} : silencieux depuis {human(now - last)}.")


def _outbox(report: Report, now: dt.datetime) -> None:
    S = Delivery.State
    waiting = [S.PENDING, S.FAILED, S.SENDING]
    counts = Delivery.objects.aggregate(
        backlog=Count("id", filter=Q(state__in=waiting)),
        due=Count("id", filter=Q(state__in=[S.PENDING, S.FAILED], next_attempt_at__lte=now)),
        oldest_due=Min(
            "next_attempt_at", filter=Q(state__in=[S.PENDING, S.FAILED], next_attempt_at__lte=now)
        ),
        failing_long=Count("id", filter=Q(state=S.FAILED, failing_since__lte=now - outbox.LONG_FAILING)),
        given_up=Count("id", filter=Q(state=S.GIVEN_UP)),
    )
    oldest = counts["oldest_due"]
    report.outbox = {
        "backlog": counts["backlog"],
        "due": counts["due"],
        "oldest_due_at": _iso(oldest),
        "oldest_due_age_seconds": _age(now, oldest),
        "failing_over_1h": counts["failing_long"],
        "given_up": counts["given_up"],
    }
    if counts["given_up"]:
        report.problems.append(f"{counts['given_up']} envoi(s) abandonné(s) : voir « Envois en échec ».")
    if counts["failing_long"]:
        report.problems.append(
            f"{counts['failing_long']} envoi(s) en échec depuis plus d'une heure : voir « Envois en échec »."
        )
    if oldest and now - oldest > OUTBOX_LATE:
        report.problems.append(
            f"Des envois attendent depuis {human(now - oldest)} : le processus d'envoi ne suit pas."
        )


def _inbound(report: Report, now: dt.datetime) -> None:
    last = InboundMessage.objects.order_by("-received_at").values_list("received_at", flat=True).first()
    last_adt = (
        InboundMessage.objects.filter(message_type="ADT")
        .order_by("-received_at")
        .values_list("received_at", flat=True)
        .first()
    )
    report.inbound = {
        "last_received_at": _iso(last),
        "last_received_age_seconds": _age(now, last),
        "last_adt_at": _iso(last_adt),
        "last_adt_age_seconds": _age(now, last_adt),
    }


def human(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} jours"
