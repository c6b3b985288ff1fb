"""A slow peer and two workers (security review, finding 11): a worker whose batch outlasts the
stale limit must not send what another worker has taken over since. The DMP sandbox is slowed;
the stale limit is brought down to one second (LIAISON_OUTBOX_STALE_SECONDS) so that the test
runs in seconds; every request the sandbox receives is counted."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from django.db import connection

from liaison.delivery import outbox, worker
from liaison.delivery.config import ConfigError, WorkerConfig
from liaison.delivery.models import Delivery
from tests.delivery.test_dmp import _sign, _stays, dmp_channel, sandbox  # noqa: F401 (fixtures)

SEND_SECONDS = 0.4  # each filing: well under the stale limit
STALE_SECONDS = 1.0


def test_the_stale_limit_is_configurable(monkeypatch):
    monkeypatch.delenv("LIAISON_OUTBOX_STALE_SECONDS", raising=False)
    assert WorkerConfig.from_env().stale_claim == outbox.STALE_CLAIM
    monkeypatch.setenv("LIAISON_OUTBOX_STALE_SECONDS", "2.5")
    assert WorkerConfig.from_env().stale_claim.total_seconds() == 2.5
    for wrong in ("deux", "0", "-1"):
        with pytest.raises(ConfigError, match="LIAISON_OUTBOX_STALE_SECONDS doit être un nombre de secondes"):
            WorkerConfig.from_env({"LIAISON_OUTBOX_STALE_SECONDS": wrong})


@pytest.mark.django_db(transaction=True)
def test_a_batch_slowed_past_the_stale_limit_is_never_sent_twice(hospital, dmp_channel, monkeypatch):  # noqa: F811
    box, _ = dmp_channel
    box.patients.ins.add(hospital["patient"].ins_matricule)
    letters = [_sign(hospital, s) for s in _stays(hospital, 6)]
    monkeypatch.setenv("LIAISON_OUTBOX_STALE_SECONDS", str(STALE_SECONDS))
    stale = WorkerConfig.from_env().stale_claim  # as `liaison worker` reads it
    real = box.provide_and_register
    senders: Counter[str] = Counter()

    def slow(content_type, body):
        senders[threading.current_thread().name] += 1
        time.sleep(SEND_SECONDS)
        return real(content_type, body)

    box.provide_and_register = slow  # type: ignore[method-assign]

    def run(name: str, delay: float) -> None:
        time.sleep(delay)
        try:
            worker.run_once(name, batch=10, stale=stale)  # the first worker claims all six filings at once
        finally:
            connection.close()

    # The second worker looks for work once the first one's claims have gone stale.
    threads = [
        threading.Thread(target=run, args=("lent", 0.0)),
        threading.Thread(target=run, args=("second", STALE_SECONDS + 0.3)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    stats = box.store.stats()
    assert stats["documents"] == len(letters)
    assert stats["refused"] == {}  # no second copy of any document reached the DMP
    assert sum(senders.values()) == len(letters)
    assert set(Delivery.objects.filter(channel="dmp").values_list("state", flat=True)) == {"delivered"}
    filed_by = set(Delivery.objects.filter(channel="dmp").values_list("claimed_by", flat=True))
    assert filed_by == {"lent", "second"}  # the second worker did take over part of the batch
