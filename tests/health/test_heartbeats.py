"""The three background processes started as in production (`liaison worker`, `liaison mllp`,
`liaison read-acks`) give signs of life that `/sante/` reports; a killed one turns the status to
« degraded ». The worker serves its own Prometheus metrics, counting a real filing in the DMP
sandbox; the listener's last ADT message is shown."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator

import pytest
from django.db import connection
from django.test import Client

from liaison.delivery.models import Delivery
from liaison.health.config import HealthConfig
from liaison.ingest.mllp import MLLPClient
from tests.delivery.test_dmp import _sign, sandbox  # noqa: F401 (fixture)
from tests.ingest.messages import adt


def _env(**extra: str) -> dict[str, str]:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "liaison.web.settings",
        "LIAISON_HEARTBEAT_SECONDS": "0.2",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


@pytest.fixture
def started() -> Iterator[Callable[..., tuple[subprocess.Popen, str]]]:
    procs: list[subprocess.Popen] = []

    def start(args: list[str], env: dict[str, str], wait_for: str) -> tuple[subprocess.Popen, str]:
        p = subprocess.Popen(
            [sys.executable, "-m", "liaison.cli", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        procs.append(p)
        seen = ""
        while wait_for not in seen:
            line = p.stdout.readline()
            assert line, f"{args[0]} stopped: {seen}"
            seen += line
        return p, seen

    yield start
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _health(client: Client) -> dict:
    return client.get("/sante/?format=json").json()


def _until(check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.1)


@pytest.mark.django_db(transaction=True)
def test_background_processes_beat_and_a_dead_one_is_reported(
    hospital,
    sandbox,  # noqa: F811
    started,
    tmp_path,
    monkeypatch,
    settings,
):
    box, url = sandbox
    box.patients.ins.add(hospital["patient"].ins_matricule)
    letter = _sign(hospital)
    Delivery.objects.filter(letter=letter).exclude(channel="dmp").delete()
    (tmp_path / "acks").mkdir()

    worker, out = started(
        ["worker", "--poll", "0.2", "--metrics", "127.0.0.1:0"],
        _env(LIAISON_DMP_URL=url),
        "Envoi des lettres",
    )
    metrics_url = re.search(r"(http://127\.0\.0\.1:\d+/metrics)", out).group(1)
    _, out = started(["mllp", "--port", "0"], _env(), "Écoute MLLP sur")
    port = int(re.search(r"127\.0\.0\.1:(\d+)", out).group(1))
    started(["read-acks", "--poll", "0.2"], _env(LIAISON_MSS_MAILDIR_ACKS=str(tmp_path / "acks")), "Lecture")

    client = Client()
    _until(lambda: {p["status"] for p in _health(client)["processes"].values()} == {"ok"})
    _until(lambda: Delivery.objects.get(letter=letter).state == Delivery.State.DELIVERED)
    with MLLPClient("127.0.0.1", port) as mllp:
        assert "MSA|AA" in mllp.send(adt("A01", "MSG-BEAT-1"))
    body = _health(client)
    assert body["status"] == "ok", body["problems"]
    assert body["inbound"]["last_adt_age_seconds"] is not None
    assert body["outbox"] == {
        "backlog": 0,
        "due": 0,
        "oldest_due_at": None,
        "oldest_due_age_seconds": None,
        "failing_over_1h": 0,
        "given_up": 0,
    }

    with urllib.request.urlopen(metrics_url, timeout=10) as r:
        text = r.read().decode()
    assert 'liaison_delivery_attempts_total{channel="dmp",outcome="sent"} 1.0' in text
    assert 'liaison_delivery_send_seconds_count{channel="dmp"} 1.0' in text

    worker.send_signal(signal.SIGKILL)
    worker.wait()
    monkeypatch.setenv("LIAISON_HEALTH_STALE_SECONDS", "1")
    settings.LIAISON_HEALTH = HealthConfig.from_env()  # as the settings read it
    _until(lambda: _health(client)["processes"]["worker"]["status"] == "stale")
    body = _health(client)
    assert body["status"] == "degraded"
    assert [p for p in body["problems"] if p.startswith("Envoi des lettres (liaison worker) : silencieux")]
    assert body["processes"]["listener"]["status"] == "ok"
