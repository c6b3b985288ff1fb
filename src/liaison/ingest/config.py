"""The MLLP listener's configuration, read once from the environment by `liaison mllp`.

`ListenerConfig.from_env()` reads the connection limits (LIAISON_MLLP_IDLE_TIMEOUT,
LIAISON_MLLP_MAX_CONNECTIONS) and the PostgreSQL prepared statements' switch and threshold
(LIAISON_PG_SERVER_SIDE_BINDING, LIAISON_PG_PREPARE_THRESHOLD), checks them and says in French
which variable is wrong; the command passes them down to the server, the dispatcher and its
worker processes (on their command line). Defaults as in README « Mise en production ».
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from liaison.envconfig import env_number

IDLE_TIMEOUT = 300.0  # seconds without a byte before the listener closes a connection
MAX_CONNECTIONS = 64  # connections served at once; the next ones are closed on arrival
PREPARE_THRESHOLD = 2  # runs of a statement on a connection before PostgreSQL prepares it


@dataclass(frozen=True)
class Limits:
    """How long a silent connection is kept, and how many are served at once (`None`, `0`: no
    limit). From LIAISON_MLLP_IDLE_TIMEOUT and LIAISON_MLLP_MAX_CONNECTIONS, or the command's
    --idle-timeout and --max-connections."""

    idle_timeout: float | None = IDLE_TIMEOUT
    max_connections: int = MAX_CONNECTIONS

    @classmethod
    def of(cls, idle_timeout: float, max_connections: int) -> Limits:
        """From the numbers as given: an idle timeout of 0 (or less) and a cap of 0 mean none."""
        return cls(idle_timeout if idle_timeout > 0 else None, max(max_connections, 0))

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Limits:
        return cls.of(
            env_number(env, "LIAISON_MLLP_IDLE_TIMEOUT", IDLE_TIMEOUT, float),
            int(env_number(env, "LIAISON_MLLP_MAX_CONNECTIONS", MAX_CONNECTIONS, int)),
        )

    def as_options(self) -> list[str]:
        """The same limits as `liaison mllp` options (for the worker processes of --workers)."""
        return [
            "--idle-timeout",
            f"{self.idle_timeout or 0:g}",
            "--max-connections",
            str(self.max_connections),
        ]


@dataclass(frozen=True)
class ListenerConfig:
    """What `liaison mllp` reads: its limits, and whether its own database connections bind
    parameters on the PostgreSQL server (unless LIAISON_PG_SERVER_SIDE_BINDING=0)."""

    limits: Limits = field(default_factory=Limits)
    server_side_binding: bool = True
    prepare_threshold: int = PREPARE_THRESHOLD

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> ListenerConfig:
        return cls(
            limits=Limits.from_env(env),
            server_side_binding=env.get("LIAISON_PG_SERVER_SIDE_BINDING") != "0",
            prepare_threshold=int(env_number(env, "LIAISON_PG_PREPARE_THRESHOLD", PREPARE_THRESHOLD, int)),
        )
