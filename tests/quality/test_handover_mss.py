"""Hand-over criterion « remise ou envoyée via MSSanté »: configurable per grid (gate parameter)."""

from __future__ import annotations

import datetime as dt

import yaml

from liaison.demo.synthetic.letters import complete_letter, paris
from liaison.quality.evaluate import evaluate
from liaison.quality.grid import _grid_path, parse_grid


def grid_with_mss(on: bool):
    raw = yaml.safe_load(_grid_path("qls/mco/v2-2022").read_text(encoding="utf-8"))
    for gate in raw["gates"]:
        if gate["id"] == "handed_over_same_day":
            gate["params"]["or_mss_to_patient"] = on
    return parse_grid(yaml.safe_dump(raw, allow_unicode=True).encode(), "test/mco/mss")


def result(grid, handed: dt.datetime | None, sent: dt.datetime | None) -> str:
    discharge = paris(2024, 5, 2, 11)
    content, facts = complete_letter(discharge)
    facts.handed_over_at, facts.sent_to_patient_mss_at = handed, sent
    return next(
        r.result.value for r in evaluate(content, facts, grid).items if r.id == "handed_over_same_day"
    )


def test_sent_to_the_patient_by_mssante_the_same_day_counts_when_the_grid_says_so():
    with_mss, without = grid_with_mss(True), grid_with_mss(False)
    same_day, next_day = paris(2024, 5, 2, 19), paris(2024, 5, 3, 9)
    assert result(with_mss, None, same_day) == "met"
    assert result(without, None, same_day) == "not_met"  # the published grids: hand-over only
    assert result(with_mss, None, next_day) == "not_met"
    assert result(with_mss, next_day, None) == "not_met"
    assert result(with_mss, same_day, None) == "met" and result(without, same_day, None) == "met"
    # 23:30 UTC on the 2nd is the 3rd in Paris: not the discharge day
    assert result(with_mss, None, dt.datetime(2024, 5, 2, 23, 30, tzinfo=dt.UTC)) == "not_met"
