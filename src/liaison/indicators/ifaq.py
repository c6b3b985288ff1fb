"""IFAQ simulation, both models, every amount explained line by line. Pure Python, no Django.

Model A (2019–2025, ifaq-and-digital-indicators.md §2): per comparison group and indicator, a
threshold leaves 70 % of the establishments concerned strictly above it (level), every
establishment with a positive or stable evolution is paid up to 70 % of them (evolution); the
score is 50/50 (100 % level without an evolution); amount = VE × VU × Σ scores / N_oblig with
VU = group envelope / Σ VE.

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

    @property
    def unknowns(self) -> list[str]:
        return sorted({u for line in self.lines for u in line.unknowns})

    def as_dict(self, year: Year | None = None) -> dict[str, Any]:
        return {
            "establishment": self.establishment,
            "amount": round(self.amount, 2),
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


def pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f} %".replace(".", ",")


def num(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}".replace(".", ",")


def _unknown(year: Year, *keys: str) -> tuple[str, ...]:
    return tuple(k for k in keys if k in year.params and year.params[k].uncertain)


# --- model A -----------------------------------------------------------------------------------


def threshold(values: Sequence[float], concerned: int, share: float, rounding: str = "floor") -> float:
    """The level threshold: the `k`-th best result leaves k = share × concerned strictly above.

    Returns −inf when every valid result can be paid, +inf when none can.
    """
    k = math.floor(share * concerned) if rounding == "floor" else round(share * concerned)
    ordered = sorted(values, reverse=True)
    if k <= 0:
        return math.inf
    if k >= len(ordered):
        return -math.inf
    return ordered[k]


def _level_score(year: Year, indicator: str, r: float, s: float) -> float:
    if year["level_score"] == "binary" or s == -math.inf:
        return 1.0 if r > s else 0.0
    target = year["targets"].get(indicator)
    if target is None:
        raise IfaqError(f"Pas de valeur cible pour {indicator} (score linéaire).")
    if r <= s:
        return 0.0
    return 1.0 if r >= target else (r - s) / (target - s)


def model_a(
    year: Year,
    group: Sequence[Establishment],
    indicators: Sequence[str],
    envelope: float,
    thresholds: Mapping[str, float] | None = None,
    unit_value: float | None = None,
) -> dict[str, Allocation]:
    """Amounts of one comparison group. Without `thresholds` / `unit_value`, both come from the group."""
    if year.model != "A":
        raise IfaqError(f"{year.year} relève du modèle B (enveloppes par indicateur).")
    share, delta = year["paid_share"], year["stable_delta"]
    out = {e.id: Allocation(e.id, 0.0) for e in group}
    for ind in indicators:
        concerned = [e for e in group if ind in e.results]
        valid = [e for e in concerned if e.results[ind].valid]
        if thresholds and ind in thresholds:
            s = thresholds[ind]
            s_line = Line(f"{ind} : seuil du groupe", f"{pct(s)} (hypothèse saisie)", ("single_thresholds",))
        else:
            s = threshold(
                [e.results[ind].value for e in valid], len(concerned), share, year["threshold_rounding"]
            )
            k = math.floor(share * len(concerned))
            shown = (
                "aucun (tous rémunérés)" if s == -math.inf else "aucun rémunéré" if s == math.inf else pct(s)
            )
            s_line = Line(
                f"{ind} : seuil du groupe",
                f"{shown} : {pct(share)} de {len(concerned)} établissements concernés = {k} au plus "
                f"strictement au-dessus",
                _unknown(year, "paid_share", "threshold_rounding"),
            )
        # evolution: positive or stable, paid to at most `share` of the establishments concerned
        deltas = {
            e.id: e.results[ind].value - e.results[ind].previous
            for e in valid
            if e.results[ind].previous is not None
        }
        eligible = sorted((i for i, dv in deltas.items() if dv >= -delta), key=lambda i: (-deltas[i], i))
        cap = math.floor(share * len(concerned))
        paid_evolution = set(eligible[:cap])
        for e in concerned:
            a, r = out[e.id], e.results[ind]
            a.lines.append(s_line)
            if not r.valid:
                a.scores[ind] = 0.0
                a.lines.append(Line(f"{ind} : résultat", f"{r.status} : non rémunéré (score 0)"))
                continue
            sl = _level_score(year, ind, r.value, s)
            rel = ">" if r.value > s else "≤"
            shape = year["level_score"]
            a.lines.append(
                Line(
                    f"{ind} : niveau",
                    f"résultat {pct(r.value)} {rel} seuil → score de niveau {num(sl)} (score {shape})",
                    _unknown(year, "level_score") + (_unknown(year, "targets") if shape == "linear" else ()),
                )
            )
            if e.id in deltas:
                se = 1.0 if e.id in paid_evolution else 0.0
                dv = deltas[e.id]
                why = (
                    "positive ou stable, dans les 70 % rémunérés"
                    if se
                    else "en baisse"
                    if dv < -delta
                    else f"positive ou stable, mais au-delà du plafond de {cap} établissements"
                )
                wl, we = year["weight_level"], year["weight_evolution"]
                a.lines.append(
                    Line(
                        f"{ind} : évolution",
                        f"{num(100 * dv, 1)} points ({why}) → score d'évolution {se:.0f}",
                        _unknown(year, "stable_delta"),
                    )
                )
            else:
                se, wl, we = 0.0, 1.0, 0.0
                a.lines.append(
                    Line(f"{ind} : évolution", "non calculable (pas de mesure précédente) : 100 % niveau")
                )
            score = wl * sl + we * se
            a.scores[ind] = score
            a.lines.append(
                Line(
                    f"{ind} : score",
                    f"{pct(wl)} × {num(sl)} + {pct(we)} × {se:.0f} = {num(score)}",
                    _unknown(year, "weight_level") if wl != 1.0 else (),
                )
            )
    total_ve = sum(e.volume for e in group)
    if unit_value is None:
        if total_ve <= 0:
            raise IfaqError("Volume économique du groupe nul : valeur unitaire incalculable.")
        vu = envelope / total_ve
        vu_line = Line(
            "Valeur unitaire du groupe",
            f"VU = enveloppe {euros(envelope)} / Σ VE {euros(total_ve)} = {num(vu, 6)}",
        )
    else:
        vu = unit_value
        vu_line = Line(
            "Valeur unitaire du groupe", f"VU = {num(vu, 6)} (hypothèse saisie)", ("single_unit_value",)
        )
    for e in group:
        a = out[e.id]
        n_oblig = sum(1 for ind in indicators if ind in e.results)
        total = sum(a.scores.values())
        a.amount = e.volume * vu * total / n_oblig if n_oblig else 0.0
        a.lines.append(vu_line)
        a.lines.append(
            Line(
                "Montant",
                f"VE {euros(e.volume)} × VU {num(vu, 6)} × Σ scores {num(total)} / {n_oblig} "
                f"indicateur(s) = {euros(a.amount)}",
            )
        )
    return out


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
