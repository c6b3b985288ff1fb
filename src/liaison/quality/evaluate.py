"""Evaluate one letter against a grid: per-item result, gates, v2 compliance and v1 score.

`evaluate(content, facts, grid)` is pure and fast (a few tens of microseconds): the live check
in the form, the HAS-style audit and the continuous self-check all call it.

- A **gate** that is not met makes the v1 record score 0 and the record non-compliant.
- **compliant** (v2, all-or-nothing): every gate met and every criterion met or not applicable.
- **score_v1**: 0 if a gate fails, else 100 × met / (met + not met) over the criteria (not the
  gates); 100 when no criterion applies.
- A letter that is not found (`facts.exists` false) fails every item: nothing can be read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from liaison.core.content import LetterContent, LetterFacts
from liaison.quality.grid import Grid, Item
from liaison.quality.rules import LetterView, Outcome, Result

NOT_FOUND_FR = "Lettre non retrouvée : élément absent du dossier."


@dataclass(frozen=True, slots=True)
class ItemResult:
    id: str
    result: Result
    explanation: str = ""  # French, empty when met or not applicable
    field: str = ""  # form field to fix, empty when met or not applicable
    gate: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"result": self.result.value, "explanation": self.explanation, "field": self.field}


@dataclass(frozen=True, slots=True)
class Evaluation:
    grid_id: str
    grid_version: str
    grid_sha256: str
    items: tuple[ItemResult, ...]  # gates then criteria, in grid order
    gates_passed: bool
    compliant: bool
    score_v1: float

    def __getitem__(self, item_id: str) -> ItemResult:
        for r in self.items:
            if r.id == item_id:
                return r
        raise KeyError(item_id)

    @property
    def gates(self) -> dict[str, Result]:
        return {r.id: r.result for r in self.items if r.gate}

    @property
    def criteria(self) -> dict[str, Result]:
        """Every item's result, gates included, keyed by id (the audit grid's columns)."""
        return {r.id: r.result for r in self.items}

    def problems(self) -> list[ItemResult]:
        """Items not met, each with its French explanation and the form field to fix."""
        return [r for r in self.items if r.result is Result.NOT_MET]

    def as_dict(self) -> dict[str, Any]:
        return {
            "grid": {"id": self.grid_id, "version": self.grid_version, "sha256": self.grid_sha256},
            "criteria": {r.id: r.result.value for r in self.items},
            "gates": {r.id: r.result.value for r in self.items if r.gate},
            "problems": [
                {"criterion": r.id, "explanation": r.explanation, "field": r.field} for r in self.problems()
            ],
            "gates_passed": self.gates_passed,
            "compliant": self.compliant,
            "score_v1": self.score_v1,
        }


def _item_result(item: Item, outcome: Outcome) -> ItemResult:
    if outcome.result is not Result.NOT_MET:
        return ItemResult(item.id, outcome.result, gate=item.gate)
    explanation = item.explanation_fr
    if outcome.detail:
        explanation = f"{explanation.rstrip('.')} — {outcome.detail}."
    return ItemResult(item.id, Result.NOT_MET, explanation, outcome.field or item.field, item.gate)


def summarise(grid: Grid, items: Iterable[ItemResult]) -> Evaluation:
    """Build the evaluation (gates, compliance, v1 score) from per-item results."""
    items = tuple(items)
    gates_passed = all(r.result is Result.MET for r in items if r.gate)
    met = sum(1 for r in items if not r.gate and r.result is Result.MET)
    not_met = sum(1 for r in items if not r.gate and r.result is Result.NOT_MET)
    score = 100.0 * met / (met + not_met) if met + not_met else 100.0
    return Evaluation(
        grid_id=grid.id,
        grid_version=grid.version,
        grid_sha256=grid.sha256,
        items=items,
        gates_passed=gates_passed,
        compliant=gates_passed and not_met == 0,
        score_v1=score if gates_passed else 0.0,
    )


def evaluate(content: LetterContent, facts: LetterFacts, grid: Grid) -> Evaluation:
    """Evaluate one letter (its content and the facts around it) against `grid`."""
    if not facts.exists:
        results = [
            ItemResult(
                i.id,
                Result.NOT_MET,
                i.explanation_fr if i.rule == "letter_found" else NOT_FOUND_FR,
                i.field,
                i.gate,
            )
            for i in grid.items
        ]
        return summarise(grid, results)
    letter = LetterView.of(content, facts)
    return summarise(grid, [_item_result(item, check(letter)) for item, check in grid.compiled])
