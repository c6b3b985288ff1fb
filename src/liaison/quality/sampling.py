"""HAS-style sampling: eligibility filter from grid data, seeded reproducible draw, reserve list.

Pure: it works on plain `StayRecord`s. The draw (qls-indicator.md §6, our proposal):
- the eligible stays are sorted by stay id (the stable key); the sha-256 of that ordered list
  of ids is recorded, so anyone can check they drew from the same population;
- each stay gets the rank key sha-256("<seed>:<stay id>"); the stays sorted by that key are the
  draw order. The first `size` are the sample, the next `reserve` the ordered reserve list. All
  eligible stays are taken when there are no more than `size`.

The rank key only needs sha-256, so the draw can be re-done by hand (or in another language)
from the seed and the list of ids; it does not depend on Python's `random` internals.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from liaison.core.paris import paris_day
from liaison.quality.grid import Eligibility

METHOD = "sha256(graine:id_séjour) croissant sur les séjours éligibles triés par id"


@dataclass(frozen=True, slots=True)
class StayRecord:
    stay_id: str
    sector: str  # Sector value: MCO, CA, SMR, PSY, HAD
    admission_at: dt.datetime
    discharge_at: dt.datetime
    exit_mode: str | None = None  # ExitMode value, e.g. "deces"
    unit: str = ""

    @property
    def length_hours(self) -> float:
        return (self.discharge_at - self.admission_at).total_seconds() / 3600


def exclusion_reason(stay: StayRecord, rule: Eligibility) -> str | None:
    """Why `stay` is out of the audit population (French), or None if it is eligible."""
    if stay.sector not in rule.sectors:
        return f"secteur {stay.sector} hors champ"
    if rule.min_length_hours is not None:
        hours = stay.length_hours
        too_short = (
            hours <= rule.min_length_hours if rule.length_rule == "gt" else hours < rule.min_length_hours
        )
        if too_short:
            sign = ">" if rule.length_rule == "gt" else "≥"
            return f"durée {hours:.1f} h (il faut {sign} {rule.min_length_hours:g} h)"
    if stay.exit_mode is not None and stay.exit_mode in rule.exclude_exit_modes:
        return f"mode de sortie exclu ({stay.exit_mode})"
    if stay.unit and stay.unit in rule.exclude_units:
        return f"unité exclue ({stay.unit})"
    day = paris_day(stay.discharge_at)
    if rule.period_start and day is not None and day < rule.period_start:
        return "sortie avant la période"
    if rule.period_end and day is not None and day > rule.period_end:
        return "sortie après la période"
    return None


def split_eligible(
    stays: Iterable[StayRecord], rule: Eligibility
) -> tuple[list[StayRecord], list[tuple[str, str]]]:
    """(eligible stays, [(stay id, French reason)] for the excluded ones)."""
    eligible: list[StayRecord] = []
    excluded: list[tuple[str, str]] = []
    for stay in stays:
        reason = exclusion_reason(stay, rule)
        if reason is None:
            eligible.append(stay)
        else:
            excluded.append((stay.stay_id, reason))
    return eligible, excluded


def _sha256_lines(ids: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()


def rank_key(seed: str, stay_id: str) -> str:
    return hashlib.sha256(f"{seed}:{stay_id}".encode()).hexdigest()


@dataclass(frozen=True)
class Replacement:
    removed: str
    added: str | None  # None when the reserve list was empty
    reason: str


@dataclass(frozen=True)
class Draw:
    """A drawn sample: immutable; replacements from the reserve make a new `Draw`."""

    seed: str
    population_size: int
    population_sha256: str
    sample: tuple[str, ...]  # in draw order
    reserve: tuple[str, ...]  # ordered
    method: str = METHOD
    replacements: tuple[Replacement, ...] = field(default=())

    @property
    def sample_sha256(self) -> str:
        return _sha256_lines(self.sample)

    def replace_from_reserve(self, stay_id: str, reason: str) -> Draw:
        """Drop `stay_id` from the sample (e.g. out of scope on review) and take the next reserve."""
        if stay_id not in self.sample:
            raise ValueError(f"Le séjour {stay_id} n'est pas dans l'échantillon.")
        if not reason.strip():
            raise ValueError("Le motif du remplacement est obligatoire.")
        added = self.reserve[0] if self.reserve else None
        sample = tuple(s for s in self.sample if s != stay_id) + ((added,) if added else ())
        return replace(
            self,
            sample=sample,
            reserve=self.reserve[1:],
            replacements=(*self.replacements, Replacement(stay_id, added, reason)),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "method": self.method,
            "population_size": self.population_size,
            "population_sha256": self.population_sha256,
            "sample_size": len(self.sample),
            "sample": list(self.sample),
            "sample_sha256": self.sample_sha256,
            "reserve": list(self.reserve),
            "replacements": [
                {"removed": r.removed, "added": r.added, "reason": r.reason} for r in self.replacements
            ],
        }


def draw_sample(eligible: Iterable[StayRecord | str], seed: str | int, size: int, reserve: int = 0) -> Draw:
    """Draw `size` stays (all if fewer) plus an ordered reserve list from the eligible stays."""
    ids = sorted(s if isinstance(s, str) else s.stay_id for s in eligible)
    if len(set(ids)) != len(ids):
        raise ValueError("Identifiants de séjour en double dans la population.")
    seed = str(seed)
    order = sorted(ids, key=lambda i: rank_key(seed, i))
    return Draw(
        seed=seed,
        population_size=len(ids),
        population_sha256=_sha256_lines(ids),
        sample=tuple(order[:size]),
        reserve=tuple(order[size : size + reserve]),
    )
