"""Figures, targeting and evaluation of a campaign, on plain objects (no Django).

- `summarise`: weighted mean (weights = records or respondents as the file gives), simple mean,
  quartiles, distribution by class and by 5-point band, share at the satisfactory level.
- `pretarget` + `score`: below the national weighted mean on the chosen indicators, then a
  regional score (0–100) from configurable weighted criteria, each with its French reason.
- `evaluate`: before/after for targeted and non-targeted establishments, difference in
  differences with a normal-approximation 95 % interval, and the regression-to-the-mean caveat.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

# --- figures -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Observation:
    finess: str
    value: float | None
    weight: int | None
    klass: str = ""
    evolution: str = ""
    region: str = ""
    department: str = ""
    category: str = ""


@dataclass(frozen=True)
class Summary:
    n_establishments: int  # rows of the file for this indicator (with or without a value)
    n_valued: int  # establishments with a published value
    total_weight: int
    weighted_mean: float | None
    mean: float | None
    q1: float | None
    median: float | None
    q3: float | None
    minimum: float | None
    maximum: float | None
    classes: dict[str, int]
    n_satisfactory: int
    n_classed: int  # establishments with a comparable class (the satisfactory share's denominator)
    share_satisfactory: float | None
    bands: list[tuple[float, float, int]] = field(default_factory=list)


def weighted_mean(values: Sequence[float], weights: Sequence[float]) -> float | None:
    total = sum(weights)
    if not total:
        return None
    return sum(v * w for v, w in zip(values, weights, strict=True)) / total


def quantile(sorted_values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between order statistics (type 7, as numpy and polars' default)."""
    if not sorted_values:
        return None
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


NON_COMPARABLE_CLASSES = {"DI", "NR", "NV", "NC", ""}


def summarise(
    obs: Iterable[Observation], satisfactory_classes: Iterable[str] = ("A",), band: float = 5.0
) -> Summary:
    rows = list(obs)
    valued = [o for o in rows if o.value is not None and (o.weight or 0) > 0]
    values = sorted(o.value for o in valued if o.value is not None)
    classes = Counter(o.klass for o in rows if o.klass)
    sat = set(satisfactory_classes)
    classed = [o for o in rows if o.klass and o.klass not in NON_COMPARABLE_CLASSES]
    n_sat = sum(1 for o in classed if o.klass in sat)
    bands: list[tuple[float, float, int]] = []
    if values:
        start = math.floor(values[0] / band) * band
        counts = Counter(math.floor((v - start) / band) for v in values)
        bands = [(start + i * band, start + (i + 1) * band, counts.get(i, 0)) for i in range(max(counts) + 1)]
    return Summary(
        n_establishments=len(rows),
        n_valued=len(valued),
        total_weight=sum(o.weight or 0 for o in valued),
        weighted_mean=weighted_mean([o.value for o in valued], [o.weight for o in valued]),  # type: ignore[misc]
        mean=sum(values) / len(values) if values else None,
        q1=quantile(values, 0.25),
        median=quantile(values, 0.5),
        q3=quantile(values, 0.75),
        minimum=values[0] if values else None,
        maximum=values[-1] if values else None,
        classes=dict(sorted(classes.items())),
        n_satisfactory=n_sat,
        n_classed=len(classed),
        share_satisfactory=n_sat / len(classed) if classed else None,
        bands=bands,
    )


def summarise_by(
    obs: Iterable[Observation],
    key: Callable[[Observation], str],
    satisfactory_classes: Iterable[str] = ("A",),
) -> dict[str, Summary]:
    groups: dict[str, list[Observation]] = {}
    for o in obs:
        groups.setdefault(key(o) or "—", []).append(o)
    sat = tuple(satisfactory_classes)
    return {k: summarise(v, sat) for k, v in sorted(groups.items())}


# --- targeting -----------------------------------------------------------------------------

PARCOURS_SERVICES = {
    "ic": "insuffisance cardiaque",
    "avc": "AVC",
    "bpco": "BPCO",
    "prado": "PRADO",
    "ambu": "chirurgie ambulatoire",
}


@dataclass(frozen=True)
class Attributes:
    """What the open data does not say; entered or imported by the campaign user, with a source."""

    dmp_rate: float | None = None  # % of in-scope stays whose LLS fed the DMP (D-DMP)
    mss_rate: float | None = None  # % sent by MSSanté to a professional (D-MSS-PS)
    parcours: frozenset[str] | None = None  # codes of PARCOURS_SERVICES; None = unknown
    cpts: bool | None = None
    beds: int | None = None
    # per-criterion QLS rates (%) of the three priority criteria (handed_over, care_planning,
    # discharge_treatment); None = not available
    priority_rates: dict[str, float] | None = None
    source: str = ""


@dataclass(frozen=True)
class Candidate:
    finess: str
    name: str
    region: str = ""
    department: str = ""
    category: str = ""
    values: dict[str, float | None] = field(default_factory=dict)  # indicator code → value
    weights: dict[str, int | None] = field(default_factory=dict)
    evolutions: dict[str, str] = field(default_factory=dict)
    attributes: Attributes = Attributes()


@dataclass(frozen=True)
class Criterion:
    id: str
    label: str
    weight: float
    prefer: str = "high"  # which end of the criterion raises the priority: high | low


@dataclass(frozen=True)
class ScoringConfig:
    rule: str  # any | all
    criteria: tuple[Criterion, ...]

    @classmethod
    def from_dict(cls, data: dict) -> ScoringConfig:
        rule = data.get("rule", "any")
        if rule not in ("any", "all"):
            raise ValueError(f"Règle de pré-ciblage « {rule} » inconnue (any ou all).")
        crits = []
        for cid, c in data["criteria"].items():
            if cid not in CRITERIA:
                raise ValueError(f"Critère « {cid} » inconnu ({', '.join(CRITERIA)}).")
            weight = float(c.get("weight", 0))
            if weight < 0:
                raise ValueError(f"Le poids du critère « {cid} » doit être positif ou nul.")
            prefer = c.get("prefer", "high")
            if prefer not in ("high", "low"):
                raise ValueError(f"Sens « {prefer} » inconnu pour « {cid} » (high ou low).")
            crits.append(Criterion(cid, c.get("label", CRITERIA[cid]), weight, prefer))
        return cls(rule, tuple(crits))

    def to_dict(self) -> dict:
        return {
            "rule": self.rule,
            "criteria": {
                c.id: {"label": c.label, "weight": c.weight, "prefer": c.prefer} for c in self.criteria
            },
        }


CRITERIA = {
    "gap": "Écart sous la moyenne nationale pondérée",
    "digital": "Maturité numérique (DMP, MSSanté)",
    "parcours": "Services de parcours",
    "cpts": "Lien avec une CPTS",
    "size": "Taille",
    "evolution": "Évolution du résultat",
    "priorities": "Critères prioritaires (remise, planification, traitement de sortie)",
}
PRIORITY_SHORT = {
    "handed_over": "remise",
    "care_planning": "planification",
    "discharge_treatment": "traitement",
}


@dataclass(frozen=True)
class Ranked:
    rank: int
    candidate: Candidate
    score: float  # 0–100
    gap: float  # mean distance below the national weighted means (points)
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class TargetingResult:
    national: dict[str, float]
    ranked: list[Ranked]
    n_considered: int
    n_without_value: int
    n_above: int


def fr(x: float | None, digits: int = 1) -> str:
    if x is None:
        return "—"
    return f"{x:,.{digits}f}".replace(",", "\u202f").replace(".", ",")


def pretarget(
    candidates: Iterable[Candidate], national: dict[str, float], rule: str = "any"
) -> tuple[list[Candidate], int, int]:
    """Those below the national weighted mean on any (or all) indicators; counts of the others."""
    below, without, above = [], 0, 0
    for c in candidates:
        known = {k: v for k, v in c.values.items() if v is not None and k in national}
        if not known:
            without += 1
            continue
        flags = [v < national[k] for k, v in known.items()]
        hit = all(flags) and len(known) == len(national) if rule == "all" else any(flags)
        if hit:
            below.append(c)
        else:
            above += 1
    return below, without, above


def _percentile_ranks(values: dict[str, float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values.values())
    n = len(ordered)
    if n == 1:
        return dict.fromkeys(values, 1.0)
    return {k: sum(1 for x in ordered if x < v) / (n - 1) for k, v in values.items()}


@dataclass(frozen=True)
class _Field:
    """What the criterion scorers read about the whole field of candidates, computed once."""

    gaps: dict[str, float]  # FINESS → mean distance below the national weighted means
    max_gap: float
    size_values: dict[str, float]  # FINESS → beds, or else the evaluated records
    size_pct: dict[str, float]  # FINESS → percentile rank of the size
    first: str  # the first indicator (whose evolution the « evolution » criterion reads)


# A criterion scorer: (candidate, criterion, field) → (score 0–1, the French reason's words).
Scorer = Callable[[Candidate, Criterion, _Field], tuple[float, str]]


def _score_gap(c: Candidate, cr: Criterion, f: _Field) -> tuple[float, str]:
    return f.gaps[c.finess] / f.max_gap, f"écart moyen {fr(f.gaps[c.finess])} point(s)"


def _score_digital(c: Candidate, cr: Criterion, f: _Field) -> tuple[float, str]:
    a = c.attributes
    rates = [r for r in (a.dmp_rate, a.mss_rate) if r is not None]
    if not rates:
        return 0.5, "non renseignée (neutre)"
    m = sum(rates) / len(rates) / 100
    return (1 - m if cr.prefer == "low" else m), f"DMP {fr(a.dmp_rate, 0)} %, MSSanté {fr(a.mss_rate, 0)} %"


def _score_parcours(c: Candidate, cr: Criterion, f: _Field) -> tuple[float, str]:
    parcours = c.attributes.parcours
    if parcours is None:
        return 0.5, "non renseignés (neutre)"
    m = len(parcours & set(PARCOURS_SERVICES)) / len(PARCOURS_SERVICES)
    names = ", ".join(PARCOURS_SERVICES[p] for p in sorted(parcours) if p in PARCOURS_SERVICES)
    return (1 - m if cr.prefer == "low" else m), names or "aucun"


def _score_cpts(c: Candidate, cr: Criterion, f: _Field) -> tuple[float, str]:
    cpts = c.attributes.cpts
    if cpts is None:
        return 0.5, "non renseigné (neutre)"
    return (float(cpts) if cr.prefer == "high" else float(not cpts)), ("oui" if cpts else "non")


def _score_size(c: Candidate, cr: Criterion, f: _Field) -> tuple[float, str]:
    if c.finess not in f.size_pct:
        return 0.5, "inconnue (neutre)"
    p = f.size_pct[c.finess]
    unit = "lits" if c.attributes.beds is not None else "effectif évalué"
    why = f"{int(f.size_values[c.finess])} {unit}, rang centile {fr(100 * p, 0)}"
    return (p if cr.prefer == "high" else 1 - p), why


def _score_priorities(c: Candidate, cr: Criterion, f: _Field) -> tuple[float, str]:
    rates = {k: v for k, v in (c.attributes.priority_rates or {}).items() if v is not None}
    if not rates:
        return 0.5, "taux par critère non renseignés (neutre)"
    m = sum(rates.values()) / len(rates) / 100
    why = ", ".join(f"{PRIORITY_SHORT.get(k, k)} {fr(v, 0)} %" for k, v in rates.items())
    return (1 - m if cr.prefer == "low" else m), why


_EVOLUTION_LEVELS = {"baisse": 1.0, "stable": 0.5, "hausse": 0.0}
_EVOLUTION_WORDS = {"baisse": "en baisse", "stable": "stable", "hausse": "en hausse"}


def _score_evolution(c: Candidate, cr: Criterion, f: _Field) -> tuple[float, str]:
    evo = c.evolutions.get(f.first, "")
    level = _EVOLUTION_LEVELS.get(evo)
    if level is None:
        return 0.5, "non calculable (neutre)"
    return (level if cr.prefer == "low" else 1 - level), _EVOLUTION_WORDS[evo]


# One scorer per criterion of CRITERIA; a criterion without one would score neutral (0.5).
SCORERS: dict[str, Scorer] = {
    "gap": _score_gap,
    "digital": _score_digital,
    "parcours": _score_parcours,
    "cpts": _score_cpts,
    "size": _score_size,
    "priorities": _score_priorities,
    "evolution": _score_evolution,
}


def _neutral(c: Candidate, cr: Criterion, f: _Field) -> tuple[float, str]:
    return 0.5, ""


def score(
    candidates: Sequence[Candidate], national: dict[str, float], config: ScoringConfig, labels: dict[str, str]
) -> list[Ranked]:
    """Score the pre-targeted establishments; every criterion gives a line of the reason."""
    gaps = {
        c.finess: sum(
            max(0.0, national[k] - v) for k, v in c.values.items() if v is not None and k in national
        )
        / max(1, sum(1 for k, v in c.values.items() if v is not None and k in national))
        for c in candidates
    }
    size_values: dict[str, float] = {}
    for c in candidates:
        if c.attributes.beds is not None:
            size_values[c.finess] = float(c.attributes.beds)
        else:
            w = next((c.weights[k] for k in national if c.weights.get(k)), None)
            if w is not None:
                size_values[c.finess] = float(w)
    field_ = _Field(
        gaps=gaps,
        max_gap=max(gaps.values(), default=0.0) or 1.0,
        size_values=size_values,
        size_pct=_percentile_ranks(size_values),
        first=next(iter(national), ""),
    )
    # the priority criteria weigh only when some candidate has per-criterion results
    has_priorities = any(c.attributes.priority_rates for c in candidates)
    criteria = [cr for cr in config.criteria if cr.id != "priorities" or has_priorities]
    total_weight = sum(cr.weight for cr in criteria) or 1.0
    out: list[tuple[float, float, str, Candidate, list[str]]] = []
    for c in candidates:
        reasons = []
        below = [
            f"{labels.get(k, k)} {fr(v)} contre {fr(national[k])} ({fr(v - national[k])})"
            for k, v in c.values.items()
            if v is not None and k in national and v < national[k]
        ]
        reasons.append("Sous la moyenne nationale pondérée : " + "; ".join(below) + ".")
        total = 0.0
        for cr in criteria:
            s, why = SCORERS.get(cr.id, _neutral)(c, cr, field_)
            points = 100 * cr.weight * s / total_weight
            total += points
            if cr.weight:
                reasons.append(f"{cr.label} : {why} → +{fr(points)} pt(s).")
        out.append((total, gaps[c.finess], c.finess, c, reasons))
    out.sort(key=lambda t: (-t[0], -t[1], t[2]))
    return [
        Ranked(i + 1, c, round(total, 2), round(gap, 2), tuple(reasons))
        for i, (total, gap, _, c, reasons) in enumerate(out)
    ]


def target(
    candidates: Sequence[Candidate],
    national: dict[str, float],
    config: ScoringConfig,
    labels: dict[str, str],
    region: str | None = None,
) -> TargetingResult:
    pool = [c for c in candidates if not region or c.region == region]
    below, without, above = pretarget(pool, national, config.rule)
    return TargetingResult(national, score(below, national, config, labels), len(pool), without, above)


# --- evaluation ----------------------------------------------------------------------------

REGRESSION_TO_THE_MEAN_FR = (
    "Attention à la régression vers la moyenne : les établissements ciblés l'ont été parce que "
    "leur résultat était bas à la mesure de référence. Une partie de ce résultat bas tient au "
    "hasard de l'échantillon (80 dossiers, ou les répondants de l'année) ; à la mesure suivante il "
    "tend à remonter, même sans aucune action. Leur progression brute surestime donc l'effet de la "
    "campagne. La différence de différences la retranche en partie en comparant aux établissements "
    "non ciblés ; la comparaison la plus juste est celle avec les non-ciblés qui étaient eux aussi "
    "sous la moyenne nationale au départ. Ce n'est pas un essai randomisé : d'autres différences "
    "entre les groupes peuvent subsister."
)


@dataclass(frozen=True)
class Pair:
    finess: str
    before: float
    after: float
    targeted: bool
    below_mean_before: bool


@dataclass(frozen=True)
class GroupChange:
    label: str
    n: int
    before: float | None
    after: float | None
    change: float | None
    sd_change: float | None


@dataclass(frozen=True)
class Evaluation:
    targeted: GroupChange
    control: GroupChange
    comparable: GroupChange
    did: float | None
    did_ci: tuple[float, float] | None
    did_comparable: float | None
    did_comparable_ci: tuple[float, float] | None
    n_missing: int
    caveat: str = REGRESSION_TO_THE_MEAN_FR


def _group(label: str, pairs: list[Pair]) -> GroupChange:
    if not pairs:
        return GroupChange(label, 0, None, None, None, None)
    n = len(pairs)
    changes = [p.after - p.before for p in pairs]
    mean_change = sum(changes) / n
    sd = math.sqrt(sum((c - mean_change) ** 2 for c in changes) / (n - 1)) if n > 1 else None
    return GroupChange(
        label,
        n,
        sum(p.before for p in pairs) / n,
        sum(p.after for p in pairs) / n,
        mean_change,
        sd,
    )


def _did(a: GroupChange, b: GroupChange) -> tuple[float | None, tuple[float, float] | None]:
    if a.change is None or b.change is None:
        return None, None
    d = a.change - b.change
    if a.sd_change is None or b.sd_change is None:
        return d, None
    se = math.sqrt(a.sd_change**2 / a.n + b.sd_change**2 / b.n)
    return d, (d - 1.96 * se, d + 1.96 * se)


def evaluate(pairs: Iterable[Pair], n_missing: int = 0) -> Evaluation:
    """Establishment-level (unweighted) means before/after; targeted minus non-targeted change."""
    rows = list(pairs)
    t = _group("Établissements ciblés", [p for p in rows if p.targeted])
    c = _group("Non ciblés (tous)", [p for p in rows if not p.targeted])
    cc = _group(
        "Non ciblés, sous la moyenne au départ", [p for p in rows if not p.targeted and p.below_mean_before]
    )
    did, ci = _did(t, c)
    did2, ci2 = _did(t, cc)
    return Evaluation(t, c, cc, did, ci, did2, ci2, n_missing)
