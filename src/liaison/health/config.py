"""Health and monitoring configuration, read once from the environment.

`HealthConfig` is the web side's (`/sante/`, `/metriques/`), read by the settings into
`settings.LIAISON_HEALTH`; the background processes' `HeartbeatConfig` is in `pulse.config`
(read when their loop starts its `Beater`). `from_env` checks the values and says in French
which variable is wrong; names and defaults as in README « Mise en production ». No Django
here: the settings import it.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass

from liaison.envconfig import ConfigError, env_seconds

__all__ = ["DEFAULT_PROCESSES", "ConfigError", "HealthConfig"]

DEFAULT_PROCESSES = ("worker", "listener", "acks")


@dataclass(frozen=True)
class HealthConfig:
    """What `/sante/` expects and who may read `/metriques/`."""

    stale_after: dt.timedelta = dt.timedelta(seconds=180)  # a heartbeat older: « silencieux »
    processes: tuple[str, ...] = DEFAULT_PROCESSES  # the processes expected (names of Heartbeat.Process)
    metrics_token: str = ""  # bearer token of /metriques/; "" = loopback only
    multiprocess_dir: str = ""  # PROMETHEUS_MULTIPROC_DIR: the gunicorn workers' metrics gathered

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> HealthConfig:
        raw = env.get("LIAISON_HEALTH_PROCESSES", ",".join(DEFAULT_PROCESSES))
        return cls(
            stale_after=dt.timedelta(seconds=env_seconds(env, "LIAISON_HEALTH_STALE_SECONDS", 180)),
            processes=tuple(p.strip() for p in raw.split(",") if p.strip()),
            metrics_token=env.get("LIAISON_METRICS_TOKEN", ""),
            multiprocess_dir=env.get("PROMETHEUS_MULTIPROC_DIR", ""),
        )
