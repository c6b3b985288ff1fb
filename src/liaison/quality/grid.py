"""QLS grids as versioned data: `grids/<indicator>/<sector>/<version>.yaml`, validated at load.

A grid id is the file path under `grids/` without the suffix, e.g. `qls/mco/v2-2022`. Each
loaded grid carries the sha-256 of its file, so every evaluation can say which exact file it
used. A published file is never edited: a correction is a new version.

Each gate and criterion names a rule of the registry in `rules.py`; an unknown rule name or a
bad parameter is a load error, with a French message naming the file and the criterion.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from liaison.core.content import ExitMode, Sector
from liaison.quality.rules import LetterView, Outcome, bind_rule

GRIDS_DIR = Path(__file__).parent / "grids"


class GridError(ValueError):
    """A grid file that cannot be loaded; the message is in French."""


class Status(StrEnum):
    CONFIRMED = "confirmed"
    UNCONFIRMED = "unconfirmed"
    OUR_PROPOSAL = "our-proposal"
    UNKNOWN = "unknown"


STATUS_LABELS_FR = {
    Status.CONFIRMED: "confirmé",
    Status.UNCONFIRMED: "non confirmé",
    Status.OUR_PROPOSAL: "notre proposition",
    Status.UNKNOWN: "inconnu",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    title: str
    url: str | None = None
    status: Status
    note: str = ""


class Item(_Strict):
    """One gate or criterion of a grid."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    order: int
    group: str
    label_fr: str
    status: Status
    status_note: str = ""
    reads: list[str] = Field(min_length=1)  # "content.medications", "facts.handed_over_at"
    rule: str
    params: dict[str, Any] = Field(default_factory=dict)
    absence_statement: bool = False  # may an explicit "none" statement satisfy it?
    explanation_fr: str  # shown when not met: names the missing element
    field: str  # the form field to fix, a LetterContent path (or "handover", "signature")
    national_priority: bool = False  # one of the three weak criteria of the CPAM/ARS campaign
    gate: bool = False  # set by the grid: True for items listed under `gates`

    _check: Callable[[LetterView], Outcome] = PrivateAttr()

    def check(self, letter: LetterView) -> Outcome:
        return self._check(letter)


class Eligibility(_Strict):
    """Which stays enter the audit population (qls-indicator.md §6; mostly our proposal)."""

    sectors: list[Sector]
    min_length_hours: float | None = None
    length_rule: Literal["gt", "ge"] = "gt"  # "> 24 h" (IFAQ 2026) or "≥ 24 h"
    exclude_exit_modes: list[ExitMode] = Field(default_factory=list)
    exclude_units: list[str] = Field(default_factory=list)
    period_start: dt.date | None = None  # discharge day, Europe/Paris, inclusive
    period_end: dt.date | None = None
    min_population: int | None = None  # collection mandatory from this many stays
    status: Status
    note: str = ""


class SampleSpec(_Strict):
    size: int = Field(gt=0)
    reserve: int = Field(ge=0)
    status: Status
    note: str = ""


class CampaignRule(_Strict):
    """The eligibility of the campaigns `campaigns` (years), where it differs from the grid's."""

    campaigns: list[int] = Field(min_length=1)
    label_fr: str  # « hospitalisations de plus de 48 h »
    min_length_hours: float | None = None
    length_rule: Literal["gt", "ge"] = "gt"
    status: Status
    source: Source


class AuditedPeriod(_Strict):
    """Which stays a campaign audits: `previous_year` = the discharges of the year before it."""

    rule: Literal["previous_year"]
    status: Status
    note: str = ""


class MinimumRecords(_Strict):
    """Below this many eligible stays an audit is reported « non interprétable »."""

    count: int = Field(gt=0)
    status: Status
    source: Source


class Grid(_Strict):
    id: str  # set from the file path
    indicator: str
    sector: str
    version: str
    title_fr: str
    campaigns: list[int] = Field(default_factory=list)
    result: Literal["score_0_100", "rate_all_or_nothing"]
    target: float = Field(gt=0, le=1)  # 0.80
    sample: SampleSpec
    eligibility: Eligibility
    source: Source
    gates: list[Item]
    criteria: list[Item]
    campaign_rules: list[CampaignRule] = Field(default_factory=list)
    audited_period: AuditedPeriod | None = None
    minimum_records: MinimumRecords | None = None
    sha256: str = ""  # set at load

    _compiled: tuple[tuple[Item, Callable[[LetterView], Outcome]], ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _unique(self) -> Grid:
        ids = [i.id for i in self.items]
        if dupes := sorted({i for i in ids if ids.count(i) > 1}):
            raise ValueError(f"identifiants en double : {', '.join(dupes)}")
        orders = [i.order for i in self.items]
        if len(set(orders)) != len(orders):
            raise ValueError("numéros d'ordre en double")
        return self

    @model_validator(mode="after")
    def _campaigns(self) -> Grid:
        years = [y for r in self.campaign_rules for y in r.campaigns]
        if dupes := sorted({y for y in years if years.count(y) > 1}):
            raise ValueError(f"campagnes en double dans campaign_rules : {', '.join(map(str, dupes))}")
        if outside := sorted(set(years) - set(self.campaigns)):
            raise ValueError(f"campaign_rules nomme des campagnes absentes de campaigns : {outside}")
        return self

    def campaign_rule(self, year: int) -> CampaignRule | None:
        return next((r for r in self.campaign_rules if year in r.campaigns), None)

    def stays_period(self, year: int) -> tuple[dt.date, dt.date] | None:
        """The discharge days campaign `year` audits (None when the grid does not say)."""
        if self.audited_period is None:
            return None
        return dt.date(year - 1, 1, 1), dt.date(year - 1, 12, 31)

    def eligibility_for(self, year: int) -> Eligibility:
        """The grid's eligibility for campaign `year`: its campaign rule and its audited period."""
        if self.campaigns and year not in self.campaigns:
            known = ", ".join(map(str, self.campaigns))
            raise GridError(f"La grille {self.id} ne sert pas à la campagne {year} (campagnes : {known}).")
        update: dict[str, Any] = {}
        if rule := self.campaign_rule(year):
            update |= {
                "min_length_hours": rule.min_length_hours,
                "length_rule": rule.length_rule,
                "status": rule.status,
                "note": f"Campagne {year} : {rule.label_fr} ({rule.source.title}).",
            }
        if period := self.stays_period(year):
            update |= {"period_start": period[0], "period_end": period[1]}
        return self.eligibility.model_copy(update=update)

    def for_campaign(self, year: int) -> Grid:
        """This grid with the eligibility of campaign `year` (same criteria, same file)."""
        return self.model_copy(update={"eligibility": self.eligibility_for(year)})

    @property
    def min_records(self) -> int | None:
        """The fewest eligible stays an interpretable audit needs (else the collection threshold)."""
        if self.minimum_records is not None:
            return self.minimum_records.count
        return self.eligibility.min_population

    def interpretable(self, eligible: int) -> bool:
        return self.min_records is None or eligible >= self.min_records

    @property
    def items(self) -> list[Item]:
        """Gates then criteria, each list in its order."""
        return self.gates + self.criteria

    def item(self, item_id: str) -> Item:
        for i in self.items:
            if i.id == item_id:
                return i
        raise KeyError(f"Critère inconnu « {item_id} » dans la grille {self.id}.")

    @property
    def compiled(self) -> tuple[tuple[Item, Callable[[LetterView], Outcome]], ...]:
        """(item, bound rule) pairs, gates first: what `evaluate` runs."""
        return self._compiled

    @property
    def national_priorities(self) -> list[str]:
        return [i.id for i in self.items if i.national_priority]

    def header(self) -> dict[str, Any]:
        """What an evaluation or an audit records about the grid it used."""
        return {
            "id": self.id,
            "version": self.version,
            "sha256": self.sha256,
            "result": self.result,
            "target": self.target,
        }


def _grid_path(grid_id: str) -> Path:
    path = (GRIDS_DIR / f"{grid_id}.yaml").resolve()
    if GRIDS_DIR.resolve() not in path.parents or not path.is_file():
        raise GridError(f"Grille « {grid_id} » introuvable (attendue dans {GRIDS_DIR}).")
    return path


def parse_grid(raw: bytes, grid_id: str) -> Grid:
    """Validate a grid file's bytes and bind each item's rule."""
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise GridError(f"Grille « {grid_id} » : YAML illisible ({exc}).") from exc
    if not isinstance(data, dict):
        raise GridError(f"Grille « {grid_id} » : le fichier doit décrire un objet.")
    data = dict(data, id=grid_id, sha256=hashlib.sha256(raw).hexdigest())
    for key in ("gates", "criteria"):
        data[key] = [dict(item, gate=(key == "gates")) for item in data.get(key) or []]
    try:
        grid = Grid.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))} : {e['msg']}" for e in exc.errors())
        raise GridError(f"Grille « {grid_id} » invalide : {problems}.") from exc
    for item in grid.items:
        try:
            item._check = bind_rule(item.rule, item.params, item.absence_statement)
        except ValueError as exc:
            raise GridError(f"Grille « {grid_id} », critère « {item.id} » : {exc}") from exc
    grid._compiled = tuple((item, item._check) for item in grid.items)
    return grid


@cache
def load_grid(grid_id: str) -> Grid:
    """Load, validate and bind the grid `grid_id` (e.g. "qls/mco/v2-2022"); cached."""
    return parse_grid(_grid_path(grid_id).read_bytes(), grid_id)


def grid_ids() -> list[str]:
    return sorted(p.relative_to(GRIDS_DIR).with_suffix("").as_posix() for p in GRIDS_DIR.rglob("*.yaml"))


def all_grids() -> list[Grid]:
    return [load_grid(g) for g in grid_ids()]
