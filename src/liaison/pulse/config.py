"""The heartbeat's configuration, read once from the environment when a loop starts its
`Beater`; the check of a number of seconds shared with `health.config` (which the settings read).
No Django here: the settings import it through `health.config`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


class ConfigError(ValueError):
    """A wrong LIAISON_HEALTH_* / LIAISON_HEARTBEAT_SECONDS setting; the message is French."""


def env_seconds(env: Mapping[str, str], name: str, default: float) -> float:
    """The positive number of seconds in `env[name]`, `default` when unset or empty."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} doit être un nombre de secondes, pas « {raw} ».") from None
    if not value > 0:
        raise ConfigError(f"{name} doit être un nombre de secondes positif, pas « {raw} ».")
    return value


@dataclass(frozen=True)
class HeartbeatConfig:
    """How often a background process writes its heartbeat (at most every `interval` s)."""

    interval: float = 15.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> HeartbeatConfig:
        return cls(env_seconds(env, "LIAISON_HEARTBEAT_SECONDS", 15.0))
