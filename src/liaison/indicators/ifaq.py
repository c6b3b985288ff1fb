"""IFAQ simulation, both models, every amount explained line by line. Pure Python, no Django.

Model A (2022–2025, DGOS 2022 slides, ifaq-and-digital-indicators.md §0): per comparison group
and indicator, the « valeur seuil de début de rémunération » is the value reached by 70 % of
the establishments; the level share is 0 below it, proportional to the distance to the target
between threshold and target, 100 % at the target; the evolution share is 0 (negative), 50 %
(stable) or 100 % (positive); score = 50 % level + 50 % evolution, the level alone when the
evolution cannot be computed, 100 % without the evolution at or above the target. The DMP and
MSS indicators count together for one (0.25 × DMP + 0.75 × MSS). Amount = VE × VU × Σ scores /
number of indicators.

Model B (2026, §3): each indicator has its own envelope; w = VE × grid-2 rate (class ×
evolution) × coefficient; amount = envelope × w / Σ w (or VE × unit value × rate × coefficient,
then the reliquat redistributed). NR / NV earn 0.

Parameters come from `ifaq.yaml` with their status and source; each amount lists the unknown
parameters it depended on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

CONFIG = Path(__file__).with_name("ifaq.yaml")
STATUS_FR = {"known": "connu", "unconfirmed": "non confirmé", "unknown": "inconnu (hypothèse)"}


class IfaqError(ValueError):
    """A simulation that cannot run; the message is French."""


@dataclass(frozen=True)
class Param:
    key: str
    value: Any
    status: str
    source: str
    label: str = ""
    alternatives: tuple[Any, ...] = ()

    @property
    def uncertain(self) -> bool:
        return self.status != "known"


@dataclass(frozen=True)
class Year:
    year: int
    model: str
    params: dict[str, Param]
    sources: dict[str, str]

    def __getitem__(self, key: str) -> Any:
        return self.params[key].value

    def with_values(self, **values: Any) -> Year:
        """The same year with some parameters replaced (sensitivity runs, user hypotheses)."""
        params = dict(self.params)
        for k, v in values.items():
            params[k] = replace(params[k], value=v)
        return replace(self, params=params)


def load_year(year: int, path: Path | None = None) -> Year:
    raw = yaml.safe_load((path or CONFIG).read_text(encoding="utf-8"))
    block = raw["years"].get(year)
    if block is None:
        raise IfaqError(f"Pas de paramètres IFAQ pour {year} (années : {', '.join(map(str, raw['years']))}).")
    params = {
        k: Param(
            k, v["value"], v["status"], v["source"], v.get("label", ""), tuple(v.get("alternatives", ()))
        )
        for k, v in block.items()
        if isinstance(v, dict) and "value" in v
    }
    for k, v in raw.get("single_establishment_a", {}).items():
        params[f"single_{k}"] = Param(f"single_{k}", v["value"], v["status"], v["source"], v.get("label", ""))
    for p in params.values():
        if p.status not in STATUS_FR or p.source not in raw["sources"]:
            raise IfaqError(f"Paramètre {p.key} ({year}) : statut ou source invalide.")
    return Year(year, block["model"], params, raw["sources"])


def available_years(path: Path | None = None) -> list[int]:
    return sorted(yaml.safe_load((path or CONFIG).read_text(encoding="utf-8"))["years"])


# --- inputs and outputs ------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """An establishment's result on one indicator: a rate, the previous one, or NR / NV."""

    value: float | None
    previous: float | None = None
    status: str = "ok"  # ok | NR (non-respondent) | NV (not validated)
    klass: str | None = None  # result class A/B/C (model B); derived when absent
    target: float | None = None  # overrides the year's target (model A simulations)

    @property
    def valid(self) -> bool:
        return self.status == "ok" and self.value is not None


@dataclass(frozen=True)
class Establishment:
    id: str
    name: str
    volume: float  # VE: previous-year activity valuation (MCO, SMR) or revenue (PSY), euros
    results: Mapping[str, Result]


@dataclass(frozen=True)
class Line:
    label: str
    detail: str
    unknowns: tuple[str, ...] = ()


@dataclass
class Allocation:
    establishment: str
    amount: float
    lines: list[Line] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    details: dict[str, IndicatorScore] = field(default_factory=dict)
    digital: float | None = None  # model A: 0.25 × DMP + 0.75 × MSS
    total_score: float | None = None  # model A: Σ scores / number of indicators
    amount_range: tuple[float, float] | None = None  # when the amount rests on an unknown VU

    @property
    def unknowns(self) -> list[str]:
        return sorted({u for line in self.lines for u in line.unknowns})

    def as_dict(self, year: Year | None = None) -> dict[str, Any]:
        return {
            "establishment": self.establishment,
            "amount": round(self.amount, 2),
            "amount_range": [round(x, 2) for x in self.amount_range] if self.amount_range else None,
            "scores": self.scores,
            "lines": [
                {"label": x.label, "detail": x.detail, "unknowns": list(x.unknowns)} for x in self.lines
            ],
            "unknowns": [
                {"key": k, "label": year.params[k].label, "status": STATUS_FR[year.params[k].status]}
                if year and k in year.params
                else {"key": k}
                for k in self.unknowns
            ],
        }


def euros(x: float) -> str:
    s = f"{x:,.2f}".replace(",", " ").replace(".", ",")
    return (s[:-3] if s.endswith(",00") else s) + " €"


def amount_fr(amount: float, amount_range: Sequence[float] | None, uncertain: bool) -> str:
    """An amount as a reader should take it: to the cent when every parameter is known, otherwise
    rounded to the thousand euros, with its range when an unknown parameter spans one."""
    if not uncertain:
        return euros(amount)

    def k(x: float) -> str:
        return euros(round(x / 1000) * 1000)

    low, high = amount_range or (amount, amount)
    return f"environ {k(amount)}" + (f" (entre {k(low)} et {k(high)})" if round(low) != round(high) else "")


def pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f} %".replace(".", ",")


def num(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}".replace(".", ",")


def _unknown(year: Year, *keys: str) -> tuple[str, ...]:
    return tuple(k for k in keys if k in year.params and year.params[k].uncertain)


# --- model A (DGOS 2022 rules, years 2022–2025) ------------------------------------------------


@dataclass(frozen=True)
class IndicatorScore:
    """One establishment on one indicator: the shares of level and evolution, and the score."""

    indicator: str
    level: float
    evolution: float | None  # None: not available or not computable
    score: float
    evolution_counted: bool
    threshold: float | None
    target: float | None
    status: str = "ok"

    def as_dict(self) -> dict[str, Any]:
        return {
            "indicator": self.indicator,
            "level": round(self.level, 6),
            "evolution": self.evolution,
            "score": round(self.score, 6),
            "evolution_counted": self.evolution_counted,
            "threshold": self.threshold,
            "target": self.target,
            "status": self.status,
        }


def threshold(values: Sequence[float], share: float) -> float | None:
    """The « valeur seuil de début de rémunération »: the value reached by `share` of the results.

    Our reading: the k-th best result with k = ⌈share × n⌉, so that at least `share` of the n
    results reach it (None without any result).
    """
    if not values:
        return None
    k = max(1, math.ceil(round(share * len(values), 9)))
    return sorted(values, reverse=True)[k - 1]


def level_share(result: float, s: float | None, target: float) -> float:
    """0 below the threshold, (R − S) / (C − S) between threshold and target, 1 at the target."""
    if result >= target:
        return 1.0
    if s is None or result < s or target <= s:
        return 0.0
    return round((result - s) / (target - s), 9)  # 9 digits: no 0.49999999999999994


def evolution_share(year: Year, result: float, previous: float) -> tuple[float, str]:
    """Negative 0, stable 50 %, positive 100 %; « stable » is |Δ| ≤ stable_delta (our choice)."""
    shares, delta = year["evolution_shares"], year["stable_delta"]
    dv = round(result - previous, 9)
    if abs(dv) <= delta + 1e-9:
        return shares["stable"], "stable"
    return (shares["positive"], "positive") if dv > 0 else (shares["negative"], "négative")


def _target(year: Year, indicator: str, r: Result) -> tuple[float, tuple[str, ...], str]:
    if r.target is not None:
        return r.target, (), "cible du fichier"
    target = year["targets"].get(indicator)
    if target is None:
        raise IfaqError(
            f"Pas de valeur cible {year.year} pour « {indicator} » : donnez-la dans la colonne target."
        )
    return target, _unknown(year, "targets"), "cible de l'année"


def score_indicator(
    year: Year, indicator: str, r: Result, s: float | None
) -> tuple[IndicatorScore, list[Line]]:
    """Level and evolution of one result against its group's threshold and its target."""
    if year["digital_at_max"] and indicator in year["digital_weights"]:
        line = Line(
            f"{indicator} : score", "indicateur numérique fixé à sa valeur maximale cette année → 1,00"
        )
        return IndicatorScore(indicator, 1.0, None, 1.0, False, s, None), [line]
    if not r.valid:
        line = Line(f"{indicator} : résultat", f"{r.status} : non rémunéré (score 0)")
        return IndicatorScore(indicator, 0.0, None, 0.0, False, s, None, r.status), [line]
    c, c_unknowns, c_how = _target(year, indicator, r)
    lines: list[Line] = []
    lvl = level_share(r.value, s, c)
    if r.value >= c:
        why = f"résultat {pct(r.value)} ≥ cible {pct(c)} ({c_how}) → niveau 100 %"
    elif s is None or r.value < s:
        why = f"résultat {pct(r.value)} < seuil {pct(s)} → niveau 0 %"
    else:
        why = (
            f"seuil {pct(s)} ≤ résultat {pct(r.value)} < cible {pct(c)} ({c_how}) → "
            f"({pct(r.value)} − {pct(s)}) / ({pct(c)} − {pct(s)}) = {pct(lvl)}"
        )
    lines.append(Line(f"{indicator} : niveau", why, c_unknowns))
    evol: float | None = None
    if r.previous is not None:
        evol, word = evolution_share(year, r.value, r.previous)
        dv = f"{100 * (r.value - r.previous):+.1f}".replace(".", ",")
        lines.append(
            Line(
                f"{indicator} : évolution",
                f"{pct(r.previous)} → {pct(r.value)} ({dv} points, {word}) → évolution {pct(evol)}",
                _unknown(year, "stable_delta"),
            )
        )
    wl, we = year["weight_level"], year["weight_evolution"]
    if r.value >= c and year["at_target_rule"] == "at_or_above":
        score, counted = 1.0, False
        how = "à la cible ou au-dessus : 100 % sans prise en compte de l'évolution"
        unknowns = _unknown(year, "at_target_rule")
    elif evol is None:
        score, counted = lvl, False
        how = f"évolution non calculable (pas de résultat précédent) : niveau seul = {num(lvl)}"
        unknowns = ()
    else:
        score, counted = round(wl * lvl + we * evol, 9), True
        how = f"{pct(wl)} × {num(lvl)} + {pct(we)} × {num(evol)} = {num(score)}"
        unknowns = ()
    lines.append(Line(f"{indicator} : score", how, unknowns))
    return IndicatorScore(indicator, lvl, evol, score, counted, s, c), lines


def model_a(
    year: Year,
    group: Sequence[Establishment],
    indicators: Sequence[str],
    thresholds: Mapping[str, float] | None = None,
    unit_value: float | None = None,
    envelope: float | None = None,
) -> dict[str, Allocation]:
    """Scores and amounts of one comparison group by the DGOS 2022 rules.

    Each indicator's threshold comes from the group's own valid results unless `thresholds`
    gives it (one establishment simulated alone). The two digital indicators count together for
    one: 0.25 × DMP + 0.75 × MSS. Amount = VE × VU × Σ scores / number of indicators, with
    VU = `envelope` / Σ VE when the group's envelope is given, otherwise `unit_value` or the
    year's hypothesis, shown with its range.
    """
    if year.model != "A":
        raise IfaqError(f"{year.year} relève du modèle B (enveloppes par indicateur).")
    share = year["threshold_share"]
    out = {e.id: Allocation(e.id, 0.0) for e in group}
    for ind in indicators:
        concerned = [e for e in group if ind in e.results]
        valid = [e.results[ind].value for e in concerned if e.results[ind].valid]
        if thresholds and ind in thresholds:
            s: float | None = thresholds[ind]
            s_line = Line(f"{ind} : seuil du groupe", f"{pct(s)} (hypothèse saisie)", ("single_thresholds",))
        else:
            s = threshold(valid, share)
            k = max(1, math.ceil(round(share * len(valid), 9))) if valid else 0
            s_line = Line(
                f"{ind} : seuil du groupe",
                f"{pct(s)} : valeur atteinte par {pct(share)} des {len(valid)} résultats valides du groupe "
                f"(rang {k} sur {len(valid)})",
                _unknown(year, "threshold_method"),
            )
        for e in concerned:
            detail, lines = score_indicator(year, ind, e.results[ind], s)
            a = out[e.id]
            a.details[ind] = detail
            a.scores[ind] = detail.score
            a.lines += [s_line, *lines]
    weights = year["digital_weights"]
    vu, vu_range, vu_line = _unit_value(year, group, unit_value, envelope)
    for e in group:
        a = out[e.id]
        digital = [ind for ind in indicators if ind in weights]
        if any(ind in e.results for ind in digital):
            parts = []
            for ind in weights:
                sc = a.scores.get(ind)
                parts.append(
                    f"{num(weights[ind])} × {ind} {num(sc or 0.0)}" + ("" if sc is not None else " (absent)")
                )
            a.digital = round(sum(w * a.scores.get(ind, 0.0) for ind, w in weights.items()), 9)
            missing = any(ind not in e.results for ind in weights)
            a.lines.append(
                Line(
                    "Score numérique (compte pour 1)",
                    " + ".join(parts) + f" = {num(a.digital)}",
                    _unknown(year, "missing_digital") if missing else (),
                )
            )
        others = [ind for ind in indicators if ind not in weights and ind in e.results]
        n_oblig = len(others) + (1 if a.digital is not None else 0)
        total = sum(a.scores[ind] for ind in others) + (a.digital or 0.0)
        a.total_score = total / n_oblig if n_oblig else 0.0
        a.amount = e.volume * vu * a.total_score
        a.amount_range = (e.volume * vu_range[0] * a.total_score, e.volume * vu_range[1] * a.total_score)
        a.lines.append(vu_line)
        a.lines.append(
            Line(
                "Montant",
                f"VE {euros(e.volume)} × VU {num(vu, 6)} × Σ scores {num(total)} / {n_oblig} "
                f"indicateur(s) = {euros(a.amount)}"
                + (
                    ""
                    if vu_range[0] == vu_range[1]
                    else f" (fourchette {euros(a.amount_range[0])} – {euros(a.amount_range[1])})"
                ),
                vu_line.unknowns,
            )
        )
    return out


def _unit_value(
    year: Year, group: Sequence[Establishment], unit_value: float | None, envelope: float | None
) -> tuple[float, tuple[float, float], Line]:
    label = "Valeur unitaire du groupe"
    if envelope is not None:
        total_ve = sum(e.volume for e in group)
        if total_ve <= 0:
            raise IfaqError("Volume économique du groupe nul : valeur unitaire incalculable.")
        vu = envelope / total_ve
        return (
            vu,
            (vu, vu),
            Line(label, f"VU = enveloppe {euros(envelope)} / Σ VE {euros(total_ve)} = {num(vu, 6)}"),
        )
    if unit_value is not None:
        return (
            unit_value,
            (unit_value, unit_value),
            Line(label, f"VU = {num(unit_value, 6)} (hypothèse saisie)", ("unit_value",)),
        )
    p = year.params["unit_value"]
    low, high = (min(p.alternatives), max(p.alternatives)) if p.alternatives else (p.value, p.value)
    return (
        p.value,
        (low, high),
        Line(
            label,
            f"VU = {num(p.value, 6)}, hypothèse de Liaison entre {num(low, 6)} et {num(high, 6)}",
            ("unit_value",),
        ),
    )


# --- model B -----------------------------------------------------------------------------------


def dmp_class(year: Year, rate: float) -> str:
    cuts = year["dmp_classes"]
    return "A" if rate >= cuts["A"] else "B" if rate >= cuts["B"] else "C"


def evolution_sign(year: Year, r: Result) -> str:
    if r.previous is None or r.value is None:
        return year["no_previous"]
    dv = r.value - r.previous
    delta = year["stable_delta"]
    return "+" if dv > delta else "-" if dv < -delta else "="


EVOLUTION_FR = {"+": "en hausse", "=": "stable", "-": "en baisse"}


def model_b(
    year: Year,
    population: Sequence[Establishment],
    indicator: str,
    others_weight: float = 0.0,
) -> tuple[dict[str, Allocation], float | None]:
    """Amounts of one indicator's envelope; returns the allocations and the unspent reliquat.

    `others_weight` is Σ w of the establishments not in `population` (simulation of one
    establishment against a national hypothesis).
    """
    if year.model != "B":
        raise IfaqError(f"{year.year} relève du modèle A (groupes et seuils).")
    envelope = year["envelopes"].get(indicator)
    if envelope is None:
        raise IfaqError(f"Pas d'enveloppe {year.year} pour {indicator}.")
    rates, coefs = year["grid2_rates"], year["coefficients"]
    out: dict[str, Allocation] = {}
    weights: dict[str, float] = {}
    for e in population:
        if indicator not in e.results:
            continue
        a = out[e.id] = Allocation(e.id, 0.0)
        r = e.results[indicator]
        a.lines.append(Line(f"{indicator} : enveloppe nationale", euros(envelope)))
        if not r.valid:
            weights[e.id] = 0.0
            a.lines.append(Line(f"{indicator} : résultat", f"{r.status} : taux de rémunération 0"))
            continue
        klass = r.klass or (dmp_class(year, r.value) if indicator.startswith("DMP") else None)
        if klass is None:
            raise IfaqError(f"Classe du résultat manquante pour {e.name} ({indicator}).")
        sign = evolution_sign(year, r)
        rate, coef = rates[klass][sign], coefs.get(klass, 1.0)
        weights[e.id] = w = e.volume * rate * coef
        a.scores[indicator] = rate * coef
        a.lines += [
            Line(
                f"{indicator} : classe",
                f"résultat {pct(r.value)} → classe {klass}"
                + (
                    " (seuils de classe du taux DMP supposés)"
                    if indicator.startswith("DMP") and not r.klass
                    else ""
                ),
                _unknown(year, "dmp_classes") if indicator.startswith("DMP") and not r.klass else (),
            ),
            Line(
                f"{indicator} : évolution",
                EVOLUTION_FR[sign]
                + (
                    f" ({100 * (r.value - r.previous):+.1f} points)".replace(".", ",")
                    if r.previous is not None
                    else " (pas de mesure précédente)"
                ),
                _unknown(year, "stable_delta")
                + (_unknown(year, "no_previous") if r.previous is None else ()),
            ),
            Line(
                f"{indicator} : taux de la grille 2",
                f"classe {klass} × évolution {EVOLUTION_FR[sign]} → {pct(rate)} ; coefficient {num(coef)}",
                _unknown(year, "grid2_rates", "coefficients"),
            ),
            Line(
                f"{indicator} : poids",
                f"w = VE {euros(e.volume)} × {pct(rate)} × {num(coef)} = {euros(w)}",
            ),
        ]
    total_w = sum(weights.values()) + others_weight
    spent = 0.0
    for eid, a in out.items():
        w = weights[eid]
        a.amount = envelope * w / total_w if total_w > 0 else 0.0
        spent += a.amount
        others = (
            f" (dont {euros(others_weight)} supposés pour les autres établissements)" if others_weight else ""
        )
        a.lines.append(
            Line(
                "Montant",
                f"{euros(envelope)} × w {euros(w)} / Σ w {euros(total_w)}{others} = {euros(a.amount)}",
                _unknown(year, "normalisation") + (("national_weight",) if others_weight else ()),
            )
        )
    # With the others' weight supposed, the reliquat of the national envelope is not known.
    return out, None if others_weight else envelope - spent
