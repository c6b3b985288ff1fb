"""The heartbeat's configuration, read once from the environment when a loop starts its
`Beater` (numbers checked by `liaison.envconfig`). No Django here."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from liaison.envconfig import env_seconds


@dataclass(frozen=True)
class HeartbeatConfig:
    """How often a background process writes its heartbeat (at most every `interval` s)."""

    interval: float = 15.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> HeartbeatConfig:
        return cls(env_seconds(env, "LIAISON_HEARTBEAT_SECONDS", 15.0))
