"""IFAQ simulation: worked examples computed by hand from the published rules (pure, no database).

Model A (2019 text, 2022+ weights): threshold leaving 70 % of the establishments concerned
strictly above it, evolution paid when positive or stable up to 70 %, 50/50 weights (100 % level
without an evolution), VU = envelope / Σ VE, amount = VE × VU × Σ scores / N_oblig.
Model B (2026): envelope × w / Σ w with w = VE × grid-2 rate × coefficient; NR / NV earn 0.
"""

from __future__ import annotations

import math

import pytest

from liaison.indicators import ifaq
from liaison.indicators.ifaq import Establishment, Result

QLS = "QLS-MCO"


def group_a() -> list[Establishment]:
    rows = [  # id, result, previous, VE (M€)
        ("E1", 0.90, 0.85, 10),
        ("E2", 0.85, 0.88, 20),
        ("E3", 0.80, 0.70, 10),
        ("E4", 0.78, 0.78, 5),
        ("E5", 0.75, 0.80, 15),
        ("E6", 0.70, 0.60, 10),
        ("E7", 0.65, 0.65, 10),
        ("E8", 0.60, 0.50, 5),
        ("E9", 0.55, None, 10),
    ]
    group = [Establishment(i, i, ve * 1e6, {QLS: Result(v, p)}) for i, v, p, ve in rows]
    group.append(Establishment("E10", "E10", 5e6, {QLS: Result(None, status="NR")}))
    return group


def test_model_a_worked_example():
    """10 establishments concerned → at most floor(0.7 × 10) = 7 above the threshold: the 8th best
    valid result, 60 %, is the threshold (E8 at exactly 60 % is not paid for its level).
    Evolutions ≥ 0: E1, E3, E4 (stable), E6, E7 (stable), E8 → 6 ≤ 7, all paid.
    Scores: E1 E3 E4 E6 E7 = 1; E2 E5 (fell) = 0.5; E8 = 0.5 (evolution only); E9 (no previous
    measure: 100 % level, below the threshold) = 0; E10 (NR) = 0.
    Σ VE = 100 M€, envelope 1 M€ → VU = 0.01; amount = VE × 0.01 × score / 1."""
    year = ifaq.load_year(2024)
    assert year.model == "A" and year["paid_share"] == 0.70
    out = ifaq.model_a(year, group_a(), [QLS], envelope=1_000_000)
    expected = {
        "E1": 100_000,
        "E2": 100_000,
        "E3": 100_000,
        "E4": 50_000,
        "E5": 75_000,
        "E6": 100_000,
        "E7": 100_000,
        "E8": 25_000,
        "E9": 0,
        "E10": 0,
    }
    assert {k: round(v.amount, 2) for k, v in out.items()} == expected
    assert sum(v.amount for v in out.values()) == pytest.approx(650_000)
    assert out["E8"].scores[QLS] == 0.5 and out["E9"].scores[QLS] == 0.0
    # why this amount: the threshold, the level, the evolution, the score, VU, the product
    lines = [f"{x.label} : {x.detail}" for x in out["E2"].lines]
    assert any("seuil du groupe : 60,0 %" in x for x in lines)
    assert any("résultat 85,0 % > seuil" in x and "score de niveau 1,00" in x for x in lines)
    assert any("-3,0 points (en baisse)" in x for x in lines)
    assert any("VU = enveloppe 1 000 000 € / Σ VE 100 000 000 € = 0,010000" in x for x in lines)
    assert lines[-1].endswith("= 100 000 €")
    assert "level_score" in out["E2"].unknowns  # binary or linear is not published
    assert "NR : non rémunéré" in " ".join(x.detail for x in out["E10"].lines)


def test_model_a_evolution_cap_and_linear_level():
    year = ifaq.load_year(2024)
    # everybody improves: only the 7 best evolutions of 10 are paid
    group = [Establishment(f"E{i}", "", 1e6, {QLS: Result(0.5 + i / 100, 0.5)}) for i in range(10)]
    out = ifaq.model_a(year, group, [QLS], envelope=100_000)
    paid = sorted(k for k, a in out.items() if any("dans les 70 %" in x.detail for x in a.lines))
    assert paid == ["E3", "E4", "E5", "E6", "E7", "E8", "E9"]
    assert "au-delà du plafond de 7" in " ".join(x.detail for x in out["E2"].lines)
    # the linear reading: between the threshold (60 %) and the target (80 %)
    linear = ifaq.model_a(year.with_values(level_score="linear"), group_a(), [QLS], envelope=1_000_000)
    e7 = linear["E7"]  # 65 %: (0.65 − 0.60) / (0.80 − 0.60) = 0.25, evolution stable → 0.625
    assert e7.scores[QLS] == pytest.approx(0.5 * 0.25 + 0.5 * 1)
    assert e7.amount == pytest.approx(10e6 * 0.01 * 0.625)
    assert {"level_score", "targets"} <= set(e7.unknowns)


def test_threshold_edges():
    assert ifaq.threshold([0.9, 0.8], concerned=1, share=0.7) == math.inf  # floor(0.7) = 0 paid
    assert ifaq.threshold([0.9, 0.8], concerned=10, share=0.7) == -math.inf  # 7 ≥ 2 valid: all paid


def test_model_b_worked_example():
    """DMP feeding rate 2026, envelope 67.2 M€ (annex 1). With the grid-2 hypothesis of ifaq.yaml:
    F1 85 % (A, up) → 100 %, w = 100 M€; F2 60 % (B, stable) → 60 %, w = 30 M€; F3 40 % (C, down)
    → 0; F4 not validated → 0. Amount = 67.2 M€ × w / 130 M€."""
    year = ifaq.load_year(2026)
    assert year.model == "B" and year["envelopes"]["DMP-LLS"] == 67_200_000
    assert year.params["envelopes"].status == "known" and year.params["grid2_rates"].status == "unknown"
    pop = [
        Establishment("F1", "F1", 100e6, {"DMP-LLS": Result(0.85, 0.80)}),
        Establishment("F2", "F2", 50e6, {"DMP-LLS": Result(0.60, 0.60)}),
        Establishment("F3", "F3", 80e6, {"DMP-LLS": Result(0.40, 0.50)}),
        Establishment("F4", "F4", 50e6, {"DMP-LLS": Result(None, status="NV")}),
    ]
    out, reliquat = ifaq.model_b(year, pop, "DMP-LLS")
    assert out["F1"].amount == pytest.approx(67_200_000 * 100 / 130)
    assert out["F2"].amount == pytest.approx(67_200_000 * 30 / 130)
    assert out["F3"].amount == 0 and out["F4"].amount == 0
    assert reliquat == pytest.approx(0, abs=1e-6)
    detail = " | ".join(x.detail for x in out["F1"].lines)
    assert "classe A" in detail and "en hausse" in detail and "w = VE 100 000 000 € × 100,0 %" in detail
    assert {"grid2_rates", "dmp_classes", "normalisation"} <= set(out["F1"].unknowns)
    # one establishment alone, the others supposed: the same amount
    alone, unknown_reliquat = ifaq.model_b(year, pop[:1], "DMP-LLS", others_weight=30e6)
    assert alone["F1"].amount == pytest.approx(out["F1"].amount) and unknown_reliquat is None
    # nobody paid: the whole envelope is left
    _, left = ifaq.model_b(year, pop[2:], "DMP-LLS")
    assert left == 67_200_000


def test_every_parameter_has_a_status_and_source():
    for y in ifaq.available_years():
        year = ifaq.load_year(y)
        for p in year.params.values():
            assert p.status in ifaq.STATUS_FR and p.source in year.sources and p.label, (y, p.key)
    with pytest.raises(ifaq.IfaqError):
        ifaq.model_b(ifaq.load_year(2024), [], "DMP-LLS")
    with pytest.raises(ifaq.IfaqError):
        ifaq.load_year(2019)
