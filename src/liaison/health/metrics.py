"""`/metriques/`: Prometheus text format. The web process's own metrics (django-prometheus's
request counters and latencies, the Python process), then gauges read from the database at
scrape time, the same for every web process: the outbox (backlog by state, oldest due delivery,
given up, failing for more than an hour), each background process's last heartbeat, the last
HL7 message received. Counts and ages only: no patient data.

Who may read it: with `LIAISON_METRICS_TOKEN` set, a request carrying `Authorization: Bearer
<token>`; without it, only a request from the loopback address that no proxy forwarded (no
`X-Forwarded-For`, `Forwarded` or `X-Real-IP` header: behind a reverse proxy on the same host
every request comes from 127.0.0.1).
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterator

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

from liaison.delivery.models import Delivery
from liaison.health import report as health

PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def refusal(request: HttpRequest) -> HttpResponse | None:
    """None when the request may read the metrics, else the French refusal."""
    token = health.configured().metrics_token
    if token:
        given = request.headers.get("Authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return None
        answer = HttpResponse(
            "Jeton absent ou invalide : envoyez « Authorization: Bearer <LIAISON_METRICS_TOKEN> ».\n",
            status=401,
            content_type="text/plain; charset=utf-8",
        )
        answer["WWW-Authenticate"] = 'Bearer realm="liaison-metriques"'
        return answer
    try:
        local = ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        local = False
    if local and not any(request.META.get(h) for h in PROXY_HEADERS):
        return None
    return HttpResponse(
        "Métriques lisibles depuis la machine elle-même seulement, ou avec un jeton "
        "(variable LIAISON_METRICS_TOKEN).\n",
        status=403,
        content_type="text/plain; charset=utf-8",
    )


class DatabaseCollector:
    """Gauges computed from the health report at each scrape."""

    def collect(self) -> Iterator[Metric]:
        r = health.build()
        up = GaugeMetricFamily("liaison_database_up", "1 si la base de données répond.")
        up.add_metric([], 1 if r.database.get("ok") else 0)
        yield up
        status = GaugeMetricFamily(
            "liaison_health_status", "État global de /sante/ (1 pour l'état courant).", labels=["status"]
        )
        for s in (health.OK, health.DEGRADED, health.DOWN):
            status.add_metric([s], 1 if r.status == s else 0)
        yield status
        if not r.database.get("ok"):
            return
        by_state = GaugeMetricFamily("liaison_outbox_deliveries", "Envois par état.", labels=["state"])
        counts = dict(Delivery.objects.values_list("state").annotate(n=Count("id")).order_by())
        for state in Delivery.State.values:
            by_state.add_metric([state], counts.get(state, 0))
        yield by_state
        o = r.outbox
        yield _gauge("liaison_outbox_backlog", "Envois en attente, en cours ou à réessayer.", o["backlog"])
        yield _gauge("liaison_outbox_due", "Envois dus maintenant.", o["due"])
        yield _gauge(
            "liaison_outbox_oldest_due_age_seconds",
            "Âge de l'envoi dû le plus ancien (0 si aucun).",
            o["oldest_due_age_seconds"] or 0,
        )
        yield _gauge("liaison_outbox_given_up", "Envois abandonnés.", o["given_up"])
        yield _gauge(
            "liaison_outbox_failing_over_1h", "Envois en échec depuis plus d'une heure.", o["failing_over_1h"]
        )
        beat = GaugeMetricFamily(
            "liaison_heartbeat_age_seconds",
            "Secondes depuis le dernier signe de vie de chaque processus (absent : jamais vu).",
            labels=["process"],
        )
        alive = GaugeMetricFamily(
            "liaison_process_instances_alive", "Instances vivantes par processus.", labels=["process"]
        )
        for name, p in r.processes.items():
            if p["age_seconds"] is not None:
                beat.add_metric([name], p["age_seconds"])
            alive.add_metric([name], p["instances_alive"])
        yield beat
        yield alive
        if r.inbound["last_received_age_seconds"] is not None:
            yield _gauge(
                "liaison_inbound_last_message_age_seconds",
                "Secondes depuis le dernier message HL7 reçu.",
                r.inbound["last_received_age_seconds"],
            )


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    g = GaugeMetricFamily(name, doc)
    g.add_metric([], value)
    return g


class _Both:
    """This process's registry (every web process's under PROMETHEUS_MULTIPROC_DIR), then the database."""

    def collect(self) -> Iterator[Metric]:
        own = REGISTRY
        if health.configured().multiprocess_dir:
            own = CollectorRegistry()
            MultiProcessCollector(own)
        yield from own.collect()
        yield from DatabaseCollector().collect()


def response(request: HttpRequest) -> HttpResponse:
    """The exposition in the format the scraper asks for (Prometheus text, or OpenMetrics)."""
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Both())
    return HttpResponse(encoder(registry), content_type=content_type)
