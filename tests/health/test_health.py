"""`/sante/` (JSON for monitoring, HTML for the establishment administrator) and `/metriques/`
(Prometheus text, token or loopback): every role, no patient data, the « down » status with a
database that does not answer."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest
from django.test import Client
from django.utils import timezone

from liaison.delivery import worker
from liaison.delivery.models import Delivery
from liaison.health.config import HealthConfig
from liaison.ingest.apply import clear_caches
from liaison.ingest.apply import process as ingest
from liaison.letters.permissions import Role
from liaison.pulse.models import Heartbeat
from tests.delivery.test_dmp import _sign
from tests.ingest.messages import FINESS_EG, adt

pytestmark = pytest.mark.django_db
ROLES = [r.value for r in Role]


@pytest.fixture
def troubled(hospital, monkeypatch):
    """A hospital whose letter could not be sent for two hours, and one ADT message received."""
    monkeypatch.setattr(worker, "_SENDERS", {})
    letter = _sign(hospital)
    worker.run_once("w1")  # no channel configured: every delivery fails, with its reason
    Delivery.objects.filter(letter=letter, channel="dmp").update(
        failing_since=timezone.now() - dt.timedelta(hours=2)
    )
    Delivery.objects.filter(letter=letter, recipient_role="patient").update(state=Delivery.State.GIVEN_UP)
    clear_caches()  # the ingest's reference data of a previous test's hospital
    ingest(adt("A01", "MSG-H1", facility=FINESS_EG).encode(), "mllp", "127.0.0.1")
    return hospital


def _patient_data(hospital) -> list[str]:
    p = hospital["patient"]
    return [p.ins_matricule, p.birth_family_name, p.first_given_name, p.ipp, "MARTIN", "IPP100", "V001"]


def _json(client: Client, **headers) -> dict:
    r = client.get("/sante/?format=json", **headers)
    assert r.status_code == 200 and r["Content-Type"] == "application/json"
    return r.json()


@pytest.mark.parametrize("role", [None, *ROLES])
def test_the_json_answers_everyone_with_counts_and_no_patient_data(troubled, client, role):
    if role:
        client.force_login(troubled["users"][role])
    body = _json(client)
    assert body["status"] == "degraded"
    assert body["database"]["ok"] is True
    assert body["outbox"]["given_up"] == 1 and body["outbox"]["failing_over_1h"] == 1
    assert body["outbox"]["backlog"] == 2
    assert body["inbound"]["last_adt_at"] and body["inbound"]["last_received_age_seconds"] >= 0
    assert {p["status"] for p in body["processes"].values()} == {"missing"}
    assert any("abandonné" in p for p in body["problems"])
    text = json.dumps(body, ensure_ascii=False)
    for secret in _patient_data(troubled):
        assert secret not in text, secret
    # the same through content negotiation
    r = client.get("/sante/", HTTP_ACCEPT="application/json")
    assert r.json()["status"] == "degraded"


def test_status_ok_when_the_processes_beat_and_nothing_waits(hospital, client, monkeypatch, settings):
    now = timezone.now()
    for process in ("worker", "listener", "acks"):
        Heartbeat.objects.create(process=process, instance="h:1", started_at=now, beat_at=now)
    body = _json(client)
    assert body["status"] == "ok" and body["problems"] == []
    assert body["processes"]["worker"]["instances_alive"] == 1
    Heartbeat.objects.filter(process="acks").update(beat_at=now - dt.timedelta(minutes=10))
    body = _json(client)
    assert body["status"] == "degraded" and body["processes"]["acks"]["status"] == "stale"
    assert body["problems"] == ["Lecture des accusés MSSanté (liaison read-acks) : silencieux depuis 10 min."]
    monkeypatch.setenv("LIAISON_HEALTH_PROCESSES", "worker,listener")  # no MSSanté acks here
    settings.LIAISON_HEALTH = HealthConfig.from_env()  # as the settings read it
    assert _json(client)["status"] == "ok"


def test_the_html_page_is_the_administrators(troubled, client):
    r = client.get("/sante/")
    assert r.status_code == 302 and r["Location"].startswith("/connexion/")
    Heartbeat.objects.create(
        process="worker", instance="srv-envoi:4242", started_at=timezone.now(), beat_at=timezone.now()
    )
    client.force_login(troubled["users"][Role.ADMIN_ETABLISSEMENT.value])
    html = client.get("/sante/").content.decode()
    assert "État de Liaison" in html and "Dégradé" in html
    assert "srv-envoi:4242" in html and "jamais vu" in html and "en marche" in html
    assert "voir les envois en échec" in html and "/envois/echecs/" in html
    for secret in _patient_data(troubled):
        assert secret not in html, secret
    assert "<script>" not in html  # the CSP allows no inline script


@pytest.mark.parametrize("role", [r for r in ROLES if r != Role.ADMIN_ETABLISSEMENT.value])
def test_the_html_page_is_refused_to_every_other_role(troubled, client, role):
    client.force_login(troubled["users"][role])
    assert client.get("/sante/").status_code == 403
    assert "État de Liaison" not in client.get("/").content.decode()
    # the JSON stays open to them (monitoring has no account)
    assert _json(client)["status"] == "degraded"


# --- /metriques/ ---------------------------------------------------------------------------------


def test_metrics_from_the_machine_itself(troubled, client):
    client.get("/sante/?format=json")  # one request for django-prometheus to count
    r = client.get("/metriques/", REMOTE_ADDR="127.0.0.1")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/plain; version=0.0.4")
    text = r.content.decode()
    assert "liaison_outbox_given_up 1.0" in text
    assert "liaison_outbox_failing_over_1h 1.0" in text
    assert 'liaison_outbox_deliveries{state="given_up"} 1.0' in text
    assert 'liaison_health_status{status="degraded"} 1.0' in text
    assert "liaison_database_up 1.0" in text
    assert "liaison_inbound_last_message_age_seconds" in text
    assert "django_http_requests_total_by_method_total" in text  # django-prometheus
    for secret in _patient_data(troubled):
        assert secret not in text, secret


@pytest.mark.parametrize("role", [None, *ROLES])
def test_metrics_refused_from_elsewhere_whoever_is_logged_in(hospital, client, role):
    if role:
        client.force_login(hospital["users"][role])
    r = client.get("/metriques/", REMOTE_ADDR="10.1.2.3")
    assert r.status_code == 403 and "LIAISON_METRICS_TOKEN" in r.content.decode()
    # behind a reverse proxy on the same host: the forwarded request is not local
    r = client.get("/metriques/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert r.status_code == 403


def test_metrics_with_a_token(hospital, client, monkeypatch, settings):
    monkeypatch.setenv("LIAISON_METRICS_TOKEN", "s3cret-jeton")
    settings.LIAISON_HEALTH = HealthConfig.from_env()  # as the settings read it
    assert client.get("/metriques/", REMOTE_ADDR="127.0.0.1").status_code == 401  # token required
    r = client.get("/metriques/", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer faux")
    assert r.status_code == 401 and r["WWW-Authenticate"].startswith("Bearer")
    r = client.get("/metriques/", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer s3cret-jeton")
    assert r.status_code == 200 and "liaison_outbox_backlog" in r.content.decode()


# --- a database that does not answer -------------------------------------------------------------

DOWN_PROBE = """
import django, json
django.setup()
from django.test import Client
r = Client().get("/sante/?format=json")
print(json.dumps({"code": r.status_code, "body": r.json()}))
"""


def test_status_down_when_the_database_does_not_answer(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/liaison_absente",
        "DJANGO_SETTINGS_MODULE": "liaison.web.settings",
    }
    out = subprocess.run(
        [sys.executable, "-c", DOWN_PROBE], env=env, capture_output=True, timeout=60, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    answer = json.loads(out.stdout.decode().strip().splitlines()[-1])
    assert answer["code"] == 503
    assert answer["body"]["status"] == "down" and answer["body"]["database"]["ok"] is False
    assert "ne répond pas" in answer["body"]["problems"][0]


MULTIPROCESS_PROBE = """
import django
django.setup()
from django.test import Client
c = Client(REMOTE_ADDR="127.0.0.1")
for _ in range(3):
    c.get("/connexion/")
print(c.get("/metriques/").content.decode())
"""


def test_metrics_of_several_web_processes_add_up_through_the_multiprocess_directory(hospital, tmp_path):
    """Under `liaison serve` (several gunicorn workers) PROMETHEUS_MULTIPROC_DIR gathers them."""
    from django.db import connection

    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DJANGO_SETTINGS_MODULE": "liaison.web.settings",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
    }
    for _ in range(2):  # two processes, one after the other, sharing the directory
        out = subprocess.run(
            [sys.executable, "-c", MULTIPROCESS_PROBE],
            env=env,
            capture_output=True,
            timeout=120,
            cwd=tmp_path,
        )
        assert out.returncode == 0, out.stderr.decode()[-2000:]
    text = out.stdout.decode()
    # 3 GET /connexion/ + 1 GET /metriques/ (counted as it starts) in each of the two processes
    assert 'django_http_requests_total_by_method_total{method="GET"} 8.0' in text, text[:3000]
    assert "liaison_outbox_backlog" in text
