"""Workers and web processes on several hosts whose clocks disagree (issue 15, scale beyond one
machine): they share one PostgreSQL database, and every time they compare — a claim's age, a
delivery's next attempt, a heartbeat's age — is the database's, so a host ten minutes fast or
slow neither sends what another worker is sending, nor leaves what was just signed waiting,
nor makes a live worker look silent."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from liaison.delivery import outbox
from liaison.delivery.models import Delivery
from liaison.health.config import HealthConfig
from liaison.pulse.heartbeat import Beater
from tests.delivery.test_outbox import _signed

pytestmark = pytest.mark.django_db
TEN_MINUTES = dt.timedelta(minutes=10)


@pytest.fixture
def host_clock(monkeypatch):
    """The clock of the host the code runs on: `host_clock["offset"]` from the true time."""
    clock = {"offset": dt.timedelta(0)}
    real = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real() + clock["offset"])
    return clock


def test_workers_on_hosts_whose_clocks_disagree_agree_on_claims_and_due_times(hospital, host_clock):
    _signed(hospital)  # signed on a web host whose clock is right: DMP + two MSSanté deliveries
    host_clock["offset"] = -TEN_MINUTES  # worker A's host is ten minutes slow
    picked = outbox.claim("hote-a:1", 10)
    assert len(picked) == 3  # what was just signed is due for it too, not ten minutes later

    host_clock["offset"] = TEN_MINUTES  # worker B's host is ten minutes fast
    assert outbox.claim("hote-b:1", 10) == []  # A's fresh claims are not stale for B

    host_clock["offset"] = -TEN_MINUTES
    assert all(outbox.renew(d) for d in picked)  # A still holds them and sends
    failed = outbox.settle(picked[0], outbox.SendResult(False, "DMP injoignable."))
    assert failed.state == Delivery.State.FAILED
    host_clock["offset"] = TEN_MINUTES
    assert outbox.claim("hote-b:1", 10) == []  # the retry waits its 30 s for B as well


def test_a_worker_on_a_slow_host_is_alive_on_the_health_page(hospital, host_clock, monkeypatch, settings):
    monkeypatch.setenv("LIAISON_HEALTH_PROCESSES", "worker")
    settings.LIAISON_HEALTH = HealthConfig.from_env()  # as the settings read it
    host_clock["offset"] = -TEN_MINUTES  # the worker's host is ten minutes slow
    Beater("worker", "hote-a:1").beat(force=True)
    host_clock["offset"] = dt.timedelta(0)  # the web host's clock is right
    body = Client().get("/sante/?format=json").json()
    assert body["processes"]["worker"]["status"] == "ok", body
    assert body["processes"]["worker"]["age_seconds"] < 60
