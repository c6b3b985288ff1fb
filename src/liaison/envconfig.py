"""Reading a number from the environment for the typed configurations (`delivery.config`,
`ingest.config`, `pulse.config`, `health.config`): one `ConfigError` whose message names, in
French, the variable that is wrong, so each entry point stops with one clear sentence.

Pure Python, no Django: the settings and the management commands read through here.
"""

from __future__ import annotations

from collections.abc import Mapping


class ConfigError(ValueError):
    """A wrong LIAISON_* setting; the message is French and names the variable."""


def env_number(
    env: Mapping[str, str], name: str, default: float, kind: type[float] | type[int] = float
) -> float:
    """The number in `env[name]` (an integer if `kind` is int), `default` when unset or empty."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        what = "un nombre entier" if kind is int else "un nombre"
        raise ConfigError(f"{name} doit être {what}, pas « {raw} ».") from None


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
