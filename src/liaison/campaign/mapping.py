"""Declared column mappings of the HAS open-data file families (`mappings/*.yaml`).

One YAML file per family says which column holds the FINESS, the name, the region, the
category and, for each indicator, its value, weight (records or respondents), class and
evolution. The QLS file of a new year needs a new YAML line at most, never code. Pure Python.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, Field

MAPPINGS_DIR = Path(__file__).with_name("mappings")


class EstablishmentColumns(BaseModel):
    finess_ej: str | None = None
    name_ej: str | None = None
    finess_eg: str
    name_eg: str
    region: str | None = None
    department: str | None = None  # derived from the FINESS when absent
    category: str | None = None


class IndicatorColumns(BaseModel):
    code: str
    label: str
    short: str = ""
    value: str
    weight: str | None = None  # absent: every establishment weighs 1
    weight_label: str = "effectif"
    class_: str | None = Field(default=None, alias="class")
    evolution: str | None = None
    range: tuple[float, float] = (0.0, 100.0)
    unit: str = ""
    higher_is_better: bool = True
    satisfactory_classes: list[str] = []
    discharge_organisation: bool = False

    def columns(self) -> list[str]:
        return [c for c in (self.value, self.weight, self.class_, self.evolution) if c]


class Classes(BaseModel):
    valid: list[str]
    labels: dict[str, str] = {}


class FileMapping(BaseModel):
    family: str
    label: str
    publisher: str = ""
    status: str = "confirmed"
    sheet: str | None = None
    year_pattern: str | None = None
    signature: list[str]
    establishment: EstablishmentColumns
    ignored: dict[str, str] = {}
    classes: Classes
    evolutions: dict[str, str] = {}
    indicators: list[IndicatorColumns]
    source_file: str = ""

    def known_columns(self) -> set[str]:
        est = {v for v in self.establishment.model_dump().values() if v}
        return est | set(self.ignored) | {c for i in self.indicators for c in i.columns()}

    def required_columns(self) -> list[str]:
        est = [v for v in self.establishment.model_dump().values() if v]
        return est + [c for i in self.indicators for c in i.columns()]

    def year_from_name(self, name: str) -> int | None:
        if not self.year_pattern:
            return None
        m = re.search(self.year_pattern, name, re.I)
        return int(m.group(1)) if m else None


@cache
def mappings() -> dict[str, FileMapping]:
    """Every declared family, by its name."""
    out: dict[str, FileMapping] = {}
    for path in sorted(MAPPINGS_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        m = FileMapping.model_validate({**data, "source_file": path.name})
        out[m.family] = m
    return out


def indicator_catalogue() -> dict[str, tuple[FileMapping, IndicatorColumns]]:
    return {i.code: (m, i) for m in mappings().values() for i in m.indicators}


def detect(columns: list[str]) -> FileMapping | None:
    """The family whose signature columns are all in the header (the most specific first)."""
    present = set(columns)
    fits = [m for m in mappings().values() if set(m.signature) <= present]
    return max(fits, key=lambda m: len(m.signature)) if fits else None
