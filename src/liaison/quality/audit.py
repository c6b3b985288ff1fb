"""An establishment's own QLS audit, HAS-style, and the full picture beside it. Pure Python.

`run_audit(grid, records, seed=...)`:
1. filters the records with the grid's eligibility rule and draws the sample (`sampling.py`);
2. evaluates every sampled letter automatically, then applies the auditor's overrides, kept
   separate from the automatic result (both are in the output);
3. computes the rate of compliant letters with its Wilson 95 % CI and class A/B/C, the v1 mean
   score with a t-based CI, and per-criterion rates (the three national priority criteria
   flagged);
4. evaluates **every** eligible stay (the "full picture", continuous self-check mode) and shows
   how much sampling error that removes (CI width of the sample vs all stays).

Only the sample result is comparable with published HAS results; the output says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from liaison.core.content import LetterContent, LetterFacts
from liaison.quality.evaluate import Evaluation, ItemResult, evaluate, summarise
from liaison.quality.grid import STATUS_LABELS_FR, Grid
from liaison.quality.rules import Result
from liaison.quality.sampling import Draw, StayRecord, draw_sample, split_eligible
from liaison.quality.stats import Proportion, mean_ci_t, proportion

MODE_SAMPLE_FR = "Audit HAS : échantillon tiré au sort, comparable aux résultats publiés"
MODE_FULL_FR = "Autocontrôle continu : tous les séjours éligibles, non comparable aux résultats publiés"


@dataclass(frozen=True, slots=True)
class AuditRecord:
    stay: StayRecord
    content: LetterContent
    facts: LetterFacts


@dataclass(frozen=True, slots=True)
class Override:
    """An auditor's decision on one criterion of one record, with its reason."""

    result: Result
    reason: str
    by: str = ""


@dataclass(frozen=True)
class ReviewedEvaluation:
    """The automatic evaluation, the overrides applied to it and the final evaluation."""

    stay_id: str
    automatic: Evaluation
    final: Evaluation
    overrides: Mapping[str, Override] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "stay": self.stay_id,
            "criteria": {r.id: r.result.value for r in self.final.items},
            "compliant": self.final.compliant,
            "score_v1": self.final.score_v1,
            "problems": [
                {"criterion": r.id, "explanation": r.explanation, "field": r.field}
                for r in self.final.problems()
            ],
            "automatic": {
                "criteria": {r.id: r.result.value for r in self.automatic.items},
                "compliant": self.automatic.compliant,
                "score_v1": self.automatic.score_v1,
            },
            "overrides": [
                {
                    "criterion": cid,
                    "automatic": self.automatic[cid].result.value,
                    "final": o.result.value,
                    "reason": o.reason,
                    "by": o.by,
                }
                for cid, o in self.overrides.items()
            ],
        }


def apply_overrides(
    grid: Grid, evaluation: Evaluation, overrides: Mapping[str, Override], stay_id: str = ""
) -> ReviewedEvaluation:
    """Apply auditor overrides (criterion id → result + reason); the automatic result is kept."""
    known = {i.id for i in grid.items}
    for cid, o in overrides.items():
        if cid not in known:
            raise ValueError(f"Correction sur un critère inconnu de la grille {grid.id} : « {cid} ».")
        if not o.reason.strip():
            raise ValueError(f"Correction du critère « {cid} » sans motif : le motif est obligatoire.")
    items = []
    for r in evaluation.items:
        override = overrides.get(r.id)
        if override is None:
            items.append(r)
        elif override.result is Result.NOT_MET:
            items.append(
                ItemResult(
                    r.id, override.result, f"Correction de l'auditeur : {override.reason}", r.field, r.gate
                )
            )
        else:
            items.append(ItemResult(r.id, override.result, gate=r.gate))
    return ReviewedEvaluation(stay_id, evaluation, summarise(grid, items), dict(overrides))


def _review(
    grid: Grid, rec: AuditRecord, overrides: Mapping[str, Mapping[str, Override]]
) -> ReviewedEvaluation:
    auto = evaluate(rec.content, rec.facts, grid)
    return apply_overrides(grid, auto, overrides.get(rec.stay.stay_id, {}), rec.stay.stay_id)


def criterion_rates(grid: Grid, evaluations: Sequence[Evaluation]) -> dict[str, dict[str, Any]]:
    """Per item: counts of met / not met / not applicable and rate = met / (met + not met)."""
    out: dict[str, dict[str, Any]] = {}
    for index, item in enumerate(grid.items):
        counts = dict.fromkeys(Result, 0)
        for e in evaluations:
            counts[e.items[index].result] += 1
        met, not_met = counts[Result.MET], counts[Result.NOT_MET]
        out[item.id] = {
            "order": item.order,
            "label_fr": item.label_fr,
            "gate": item.gate,
            "status": item.status.value,
            "status_fr": STATUS_LABELS_FR[item.status],
            "national_priority": item.national_priority,
            "met": met,
            "not_met": not_met,
            "not_applicable": counts[Result.NOT_APPLICABLE],
            **{k: v for k, v in proportion(met, met + not_met, grid.target).as_dict().items() if k != "k"},
        }
    return out


def _rate(grid: Grid, evaluations: Sequence[Evaluation]) -> Proportion:
    return proportion(sum(e.compliant for e in evaluations), len(evaluations), grid.target)


def _width(p: Proportion) -> float | None:
    ci = p.ci95
    return ci[1] - ci[0] if ci else None


@dataclass(frozen=True)
class Audit:
    grid: Grid
    draw: Draw
    excluded: list[tuple[str, str]]
    sample: list[ReviewedEvaluation]
    full: list[ReviewedEvaluation]

    @property
    def rate(self) -> Proportion:
        return _rate(self.grid, [r.final for r in self.sample])

    @property
    def rate_automatic(self) -> Proportion:
        return _rate(self.grid, [r.automatic for r in self.sample])

    @property
    def rate_full(self) -> Proportion:
        return _rate(self.grid, [r.final for r in self.full])

    def as_dict(self) -> dict[str, Any]:
        """The JSON-able audit: grid, sample, rate, ci95, class, score_v1, criteria, full picture."""
        grid, rate, full = self.grid, self.rate, self.rate_full
        finals = [r.final for r in self.sample]
        criteria = criterion_rates(grid, finals)
        sample_width, full_width = _width(rate), _width(full)
        eligible = self.draw.population_size
        interpretable = grid.interpretable(eligible)
        return {
            "mode": MODE_SAMPLE_FR,
            "grid": {**grid.header(), "title_fr": grid.title_fr},
            "draw": self.draw.as_dict(),
            "population": {"eligible": self.draw.population_size, "excluded": len(self.excluded)},
            "excluded": [{"stay": s, "reason": r} for s, r in self.excluded],
            "sample": [r.as_dict() for r in self.sample],
            "n": rate.n,
            "compliant": rate.k,
            "rate": rate.rate,
            "ci95": list(rate.ci95) if rate.ci95 else None,
            "wald95": list(rate.wald95) if rate.wald95 else None,
            "class": rate.cls,
            "class_wald": rate.cls_wald,
            "interpretable": interpretable,
            "min_records": grid.min_records,
            "interpretation_fr": None
            if interpretable
            else (
                f"Non interprétable : {eligible} séjour(s) éligible(s), moins que le minimum de "
                f"{grid.min_records} de la grille {grid.id} ; taux et classe donnés à titre indicatif."
            ),
            "target": grid.target,
            "score_v1": mean_ci_t(e.score_v1 for e in finals).as_dict(),
            "automatic": {
                "rate": self.rate_automatic.rate,
                "ci95": list(self.rate_automatic.ci95) if self.rate_automatic.ci95 else None,
                "class": self.rate_automatic.cls,
                "overridden_records": sum(1 for r in self.sample if r.overrides),
            },
            "criteria": criteria,
            "national_priorities": {cid: criteria[cid] for cid in grid.national_priorities},
            "full": {
                "mode": MODE_FULL_FR,
                **full.as_dict(),
                "score_v1": mean_ci_t(r.final.score_v1 for r in self.full).as_dict(),
                "criteria": criterion_rates(grid, [r.final for r in self.full]),
            },
            "sampling_error": {
                "sample_ci_width": sample_width,
                "full_ci_width": full_width,
                "width_removed": sample_width - full_width
                if sample_width is not None and full_width is not None
                else None,
                "sample_minus_full": rate.rate - full.rate
                if rate.rate is not None and full.rate is not None
                else None,
            },
        }


def run_audit(
    grid: Grid,
    records: Iterable[AuditRecord],
    *,
    seed: str | int,
    overrides: Mapping[str, Mapping[str, Override]] | None = None,
    size: int | None = None,
    reserve: int | None = None,
    draw: Draw | None = None,
) -> Audit:
    """Run the audit of `records` (one per stay) with `grid`; `overrides` is keyed by stay id.

    Pass the `draw` of an audit already started (possibly with replacements from the reserve)
    to keep its sample: the population must then be the same as when it was drawn.
    """
    overrides = overrides or {}
    by_id: dict[str, AuditRecord] = {}
    for rec in records:
        if rec.stay.stay_id in by_id:
            raise ValueError(f"Séjour en double : {rec.stay.stay_id}.")
        by_id[rec.stay.stay_id] = rec
    eligible, excluded = split_eligible((r.stay for r in by_id.values()), grid.eligibility)
    fresh = draw_sample(
        eligible,
        seed,
        size if size is not None else grid.sample.size,
        reserve if reserve is not None else grid.sample.reserve,
    )
    if draw is None:
        draw = fresh
    elif draw.population_sha256 != fresh.population_sha256:
        raise ValueError(
            "La population des séjours éligibles a changé depuis le tirage : échantillon non réutilisable."
        )
    eligible_ids = {s.stay_id for s in eligible}
    if unknown := sorted(set(overrides) - eligible_ids):
        raise ValueError(f"Corrections sur des séjours hors population éligible : {', '.join(unknown)}.")
    full = {s.stay_id: _review(grid, by_id[s.stay_id], overrides) for s in eligible}
    sample = [full[sid] for sid in draw.sample]
    return Audit(grid, draw, excluded, sample, sorted(full.values(), key=lambda r: r.stay_id))
