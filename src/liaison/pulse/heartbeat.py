"""Heartbeats: each background loop calls `Beater.beat()` as it goes round; one row per process
instance (host:pid) is refreshed at most every `LIAISON_HEARTBEAT_SECONDS` (15 s by default, read
once when the `Beater` is made, `config.HeartbeatConfig`).

A heartbeat never stops its loop: a database error is logged and the connection closed, so the
next beat reconnects. Only the long-running commands beat (`liaison worker`, `liaison mllp`,
`liaison read-acks`); the in-process helpers the tests run in threads (`worker.run_once`,
`MLLPServer.start`) do not.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time

from django.db import DatabaseError, connection
from django.utils import timezone

from liaison import dbclock
from liaison.pulse.config import HeartbeatConfig
from liaison.pulse.models import Heartbeat

log = logging.getLogger(__name__)
KEEP = dt.timedelta(days=7)  # rows of instances silent for longer are removed


def instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


class Beater:
    def __init__(self, process: str, instance: str | None = None, config: HeartbeatConfig | None = None):
        self.process = process
        self.instance = instance or instance_name()
        self.interval = (config or HeartbeatConfig.from_env()).interval
        self.started_at = timezone.now()
        self._last = float("-inf")

    def beat(self, force: bool = False) -> None:
        """Record that this process is alive (throttled; `force` writes now)."""
        if not force and time.monotonic() - self._last < self.interval:
            return
        try:
            now = dbclock.now()  # the health page ages it by the same clock, whatever the host
            created = Heartbeat.objects.update_or_create(
                process=self.process,
                instance=self.instance,
                defaults={"beat_at": now},
                create_defaults={"beat_at": now, "started_at": self.started_at},
            )[1]
            if created:
                Heartbeat.objects.filter(process=self.process, beat_at__lt=now - KEEP).delete()
        except DatabaseError as exc:
            log.warning("signe de vie %s non enregistré : %s", self.process, exc)
            connection.close()
            return
        self._last = time.monotonic()
