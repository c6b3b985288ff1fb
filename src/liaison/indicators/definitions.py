"""Indicator definitions as data (`definitions.yaml`), and the arithmetic on their counts.

Pure Python, no Django. A definition names its denominator and numerator as predicates on facts
computed for each stay (or each MSSanté mail); `Predicate.sql()` renders them for the database,
`Predicate.holds()` evaluates them on a row (exports, explanations). `rollup()` adds up the
counts of the (month, unit, physician) cube the database returns into figures by any key.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from liaison.indicators.config import BUNDLED_DEFINITIONS
from liaison.quality.stats import wilson

DEFAULT_PATH = BUNDLED_DEFINITIONS

STAY_FACTS = {
    "has_letter": bool,
    "sign_delay": int,
    "hand_delay": int,
    "mt_mss": bool,
    "mt_delay": int,
    "pro_mss": bool,
    "pro_delay": int,
    "ins_qualified": bool,
    "dmp_delay": int,
    "pat_delay": int,
    "signed_before_discharge": bool,
    "corrected_after_discharge": bool,
}
DELIVERY_FACTS = {"left": bool, "delivered": bool, "read": bool}
UNITS = {"sejour": STAY_FACTS, "envoi": DELIVERY_FACTS}
UNIT_LABELS = {"sejour": "séjours", "envoi": "envois MSSanté"}
STATUS_LABELS = {"confirmed": "définition publique", "our_choice": "choix de Liaison (paramétrable)"}

_PRED = re.compile(
    r"^\s*(?:(?P<not>not)\s+)?(?P<fact>[a-z_]+)\s*"
    r"(?:(?P<op><=|>=|=|<|>)\s*(?P<value>-?\d+)|(?P<null>is\s+(?:not\s+)?null))?\s*$"
)
_OPS: dict[str, Callable[[int, int], bool]] = {
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
    "=": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
}


class DefinitionError(ValueError):
    """The definitions file is wrong; the message is French."""


@dataclass(frozen=True)
class Predicate:
    """One condition on one fact: `fact`, `not fact`, `fact <= 2`, `fact is null`…"""

    fact: str
    op: str  # true | false | null | not_null | <= | >= | = | < | >
    value: int | None = None

    @classmethod
    def parse(cls, text: str, facts: Mapping[str, type]) -> Predicate:
        m = _PRED.match(text)
        if not m or m["fact"] not in facts:
            raise DefinitionError(f"Condition illisible ou fait inconnu : {text!r}.")
        fact, kind = m["fact"], facts[m["fact"]]
        if m["op"]:
            if kind is not int or m["not"]:
                raise DefinitionError(f"Comparaison impossible sur {fact!r} : {text!r}.")
            return cls(fact, m["op"], int(m["value"]))
        if m["null"]:
            return cls(fact, "not_null" if "not" in m["null"] else "null")
        if kind is not bool:
            raise DefinitionError(f"{fact!r} n'est pas un fait oui/non : {text!r}.")
        return cls(fact, "false" if m["not"] else "true")

    def sql(self, column: Callable[[str], str]) -> tuple[str, list[Any]]:
        """SQL for this condition; `column` quotes a fact name. NULL never satisfies a comparison."""
        col = column(self.fact)
        # facts that are true or false are 0/1 integers in SQL (portable, and aggregable)
        if self.op == "true":
            return f"({col} = 1)", []
        if self.op == "false":
            return f"({col} IS NULL OR {col} = 0)", []
        if self.op == "null":
            return f"({col} IS NULL)", []
        if self.op == "not_null":
            return f"({col} IS NOT NULL)", []
        return f"({col} {self.op} %s)", [self.value]

    def holds(self, row: Mapping[str, Any]) -> bool:
        v = row.get(self.fact)
        if self.op == "true":
            return bool(v)
        if self.op == "false":
            return not v
        if self.op == "null":
            return v is None
        if self.op == "not_null":
            return v is not None
        return v is not None and _OPS[self.op](v, self.value)

    def text(self) -> str:
        return {
            "true": self.fact,
            "false": f"not {self.fact}",
            "null": f"{self.fact} is null",
            "not_null": f"{self.fact} is not null",
        }.get(self.op, f"{self.fact} {self.op} {self.value}")


def all_hold(preds: Sequence[Predicate], row: Mapping[str, Any]) -> bool:
    return all(p.holds(row) for p in preds)


def conjunction_sql(preds: Sequence[Predicate], column: Callable[[str], str]) -> tuple[str, list[Any]]:
    if not preds:
        return "(1 = 1)", []
    parts, params = [], []
    for p in preds:
        s, ps = p.sql(column)
        parts.append(s)
        params.extend(ps)
    return "(" + " AND ".join(parts) + ")", params


@dataclass(frozen=True)
class Indicator:
    id: str
    label: str
    unit: str  # sejour | envoi
    status: str  # confirmed | our_choice
    definition: str
    numerator_text: str
    denominator_text: str
    denominator: tuple[Predicate, ...]
    numerator: tuple[Predicate, ...]  # taken inside the denominator
    group: str = ""
    source: str = ""

    @property
    def counted(self) -> tuple[Predicate, ...]:
        """The numerator's full condition: denominator and numerator."""
        return self.denominator + self.numerator

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "unit": self.unit,
            "status": self.status,
            "status_fr": STATUS_LABELS.get(self.status, self.status),
            "definition": self.definition,
            "numerator_text": self.numerator_text,
            "denominator_text": self.denominator_text,
            "denominator_rule": [p.text() for p in self.denominator],
            "numerator_rule": [p.text() for p in self.numerator],
            "source": self.source,
        }


@dataclass(frozen=True)
class Distribution:
    """The delays of one fact (J0 or earlier, J+1, J+2, J+3 to J+7, later, never) in a population."""

    id: str
    label: str
    fact: str
    denominator: tuple[Predicate, ...]

    BUCKETS = (
        ("j0", "J0 ou avant", None, 0),
        ("j1", "J+1", 1, 1),
        ("j2", "J+2", 2, 2),
        ("j3_7", "J+3 à J+7", 3, 7),
        ("after", "Après J+7", 8, None),
    )

    def bucket_preds(self) -> list[tuple[str, str, tuple[Predicate, ...]]]:
        out = []
        for key, label, lo, hi in self.BUCKETS:
            preds = list(self.denominator)
            if lo is not None:
                preds.append(Predicate(self.fact, ">=", lo))
            if hi is not None:
                preds.append(Predicate(self.fact, "<=", hi))
            out.append((key, label, tuple(preds)))
        out.append(("never", "Jamais", (*self.denominator, Predicate(self.fact, "null"))))
        return out


@dataclass(frozen=True)
class Definitions:
    version: str
    rules: dict[str, Any]
    indicators: tuple[Indicator, ...]
    distributions: tuple[Distribution, ...]
    qls: dict[str, dict[str, str]]
    path: str = ""
    texts: dict[str, str] = field(default_factory=dict)

    def get(self, indicator_id: str) -> Indicator:
        for i in self.indicators:
            if i.id == indicator_id:
                return i
        raise KeyError(indicator_id)

    def of_unit(self, unit: str) -> list[Indicator]:
        return [i for i in self.indicators if i.unit == unit]


def _preds(items: Iterable[str], facts: Mapping[str, type]) -> tuple[Predicate, ...]:
    return tuple(Predicate.parse(x, facts) for x in items or [])


def load(path: str | Path | None = None) -> Definitions:
    """Read and check a definitions file (default: the bundled one; the configured one is
    `settings.LIAISON_INDICATORS.definitions`, see `compute.configured_definitions`)."""
    path = Path(path or DEFAULT_PATH)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DefinitionError(f"Fichier de définitions illisible : {path} ({exc}).") from exc
    indicators, seen = [], set()
    for d in raw["indicators"]:
        unit = d.get("unit", "sejour")
        if unit not in UNITS:
            raise DefinitionError(f"Unité inconnue pour {d.get('id')} : {unit!r}.")
        if d["id"] in seen:
            raise DefinitionError(f"Indicateur en double : {d['id']}.")
        seen.add(d["id"])
        facts = UNITS[unit]
        indicators.append(
            Indicator(
                id=d["id"],
                label=d["label"],
                unit=unit,
                status=d.get("status", "our_choice"),
                definition=" ".join(d["definition"].split()),
                numerator_text=d["numerator_text"],
                denominator_text=d["denominator_text"],
                denominator=_preds(d.get("denominator"), facts),
                numerator=_preds(d.get("numerator"), facts),
                group=d.get("group", ""),
                source=d.get("source", ""),
            )
        )
    distributions = tuple(
        Distribution(d["id"], d["label"], d["fact"], _preds(d.get("denominator"), STAY_FACTS))
        for d in raw.get("distributions", [])
    )
    for d in distributions:
        if STAY_FACTS.get(d.fact) is not int:
            raise DefinitionError(f"Répartition {d.id} : {d.fact!r} n'est pas un délai.")
    rules = raw["rules"]
    return Definitions(
        version=str(raw["version"]),
        rules=rules,
        indicators=tuple(indicators),
        distributions=distributions,
        qls=raw.get("qls", {}),
        path=str(path),
        texts={k: " ".join(v.split()) for k, v in rules.get("texts", {}).items()},
    )


# --- figures --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    @property
    def ci95(self) -> tuple[float, float] | None:
        return wilson(self.numerator, self.denominator) if self.denominator else None

    def as_dict(self) -> dict[str, Any]:
        ci = self.ci95
        return {
            "numerator": self.numerator,
            "denominator": self.denominator,
            "value": self.value,
            "ci95": list(ci) if ci else None,
        }


def num_key(indicator_id: str) -> str:
    return f"{indicator_id}:num"


def den_key(indicator_id: str) -> str:
    return f"{indicator_id}:den"


def rollup(
    cube: Iterable[Mapping[str, Any]],
    indicator_ids: Iterable[str],
    key: Callable[[Mapping[str, Any]], Hashable] = lambda _row: None,
) -> dict[Hashable, dict[str, Figure]]:
    """Sum the cube's `<id>:num` / `<id>:den` counts by `key(row)` into figures."""
    ids = list(indicator_ids)
    sums: dict[Hashable, dict[str, list[int]]] = {}
    for row in cube:
        bucket = sums.setdefault(key(row), {i: [0, 0] for i in ids})
        for i in ids:
            bucket[i][0] += int(row.get(num_key(i)) or 0)
            bucket[i][1] += int(row.get(den_key(i)) or 0)
    return {k: {i: Figure(*v[i]) for i in ids} for k, v in sums.items()}


def month_range(start: dt.date, end: dt.date) -> list[dt.date]:
    """First days of the calendar months that meet [start, end]."""
    out, m = [], start.replace(day=1)
    while m <= end:
        out.append(m)
        m = (m + dt.timedelta(days=32)).replace(day=1)
    return out


def previous_month(today: dt.date) -> tuple[dt.date, dt.date]:
    """The last complete calendar month before `today` (the default period)."""
    last = today.replace(day=1) - dt.timedelta(days=1)
    return last.replace(day=1), last
