"""Where the indicators' definitions come from, read once from the environment by the settings
(`settings.LIAISON_INDICATORS`): LIAISON_INDICATORS_CONFIG (the indicators of the dashboard and
the proofs) and LIAISON_DIGITAL_CONFIG (the digital indicators by year), each a YAML file that
replaces the bundled one. No Django here: the settings import it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

BUNDLED_DEFINITIONS = Path(__file__).with_name("definitions.yaml")
BUNDLED_DIGITAL = Path(__file__).with_name("digital.yaml")


@dataclass(frozen=True)
class IndicatorsConfig:
    definitions: Path = BUNDLED_DEFINITIONS
    digital: Path = BUNDLED_DIGITAL

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> IndicatorsConfig:
        return cls(
            definitions=Path(env.get("LIAISON_INDICATORS_CONFIG") or BUNDLED_DEFINITIONS),
            digital=Path(env.get("LIAISON_DIGITAL_CONFIG") or BUNDLED_DIGITAL),
        )
