"""IFAQ simulation: worked examples computed by hand from the published rules (pure, no database).

Model A (DGOS 2022 slides): threshold = value reached by 70 % of the group, level proportional
between threshold and target, 100 % at the target without the evolution, evolution 0 / 50 / 100 %,
50/50 (level alone without a previous result), DMP 0.25 + MSS 0.75 counting for one, amount =
VE × VU × Σ scores / number of indicators.
Model B (2026): envelope × w / Σ w with w = VE × grid-2 rate × coefficient; NR / NV earn 0.
"""

from __future__ import annotations

import pytest

from liaison.indicators import ifaq
from liaison.indicators.ifaq import Establishment, Result

QLS = "qls_mco"


def group_a() -> list[Establishment]:
    rows = [  # id, result, previous, VE (M€)
        ("E1", 0.90, 0.85, 10),
        ("E2", 0.85, 0.88, 20),
        ("E3", 0.80, 0.70, 10),
        ("E4", 0.78, 0.78, 5),
        ("E5", 0.75, 0.80, 15),
        ("E6", 0.70, 0.60, 10),
        ("E7", 0.65, 0.645, 10),
        ("E8", 0.60, 0.50, 5),
        ("E9", 0.72, None, 10),
        ("E10", 0.50, 0.52, 10),
    ]
    group = [Establishment(i, i, ve * 1e6, {QLS: Result(v, p)}) for i, v, p, ve in rows]
    group.append(Establishment("E11", "E11", 5e6, {QLS: Result(None, status="NR")}))
    return group


def test_model_a_dgos_2022_worked_example():
    """DGOS 2022 slides: the threshold is the value reached by 70 % of the establishments: 10
    valid results, ⌈0.7 × 10⌉ = 7, the 7th best is 70 %. Target 80 %. Level = (R − 70) / (80 − 70)
    between threshold and target; at or above the target 100 % without the evolution; evolution
    negative 0, stable (|Δ| ≤ 1 point, our choice) 50 %, positive 100 %; 50/50; level alone
    without a previous result.
    E1 90 %, E2 85 % (fell), E3 80 %: 1. E4 78 % stable: ½ × 0.8 + ½ × 0.5 = 0.65.
    E5 75 % down 5: ½ × 0.5 = 0.25. E6 70 % (at the threshold, level 0) up: 0.5.
    E7 65 % down 0.5 point = stable: 0.25. E8 60 % up: 0.5. E9 72 % no previous: level 0.2.
    E10 50 % down: 0. E11 NR: 0."""
    year = ifaq.load_year(2024)
    assert year.model == "A" and year["threshold_share"] == 0.70 and year["targets"][QLS] == 0.80
    assert year.params["level_score"].status == "known" and year.params["stable_delta"].status == "unknown"
    out = ifaq.model_a(year, group_a(), [QLS], unit_value=0.01)
    expected = {
        "E1": 1.0, "E2": 1.0, "E3": 1.0, "E4": 0.65, "E5": 0.25, "E6": 0.5,
        "E7": 0.25, "E8": 0.5, "E9": 0.2, "E10": 0.0, "E11": 0.0,
    }  # fmt: skip
    assert {k: round(a.scores[QLS], 6) for k, a in out.items()} == expected
    assert out["E4"].details[QLS].threshold == 0.70
    assert out["E2"].details[QLS].evolution == 0.0 and not out["E2"].details[QLS].evolution_counted
    assert out["E9"].details[QLS].evolution is None
    # amount = VE × VU × score / 1 indicator
    assert out["E4"].amount == pytest.approx(5e6 * 0.01 * 0.65)
    lines = [f"{x.label} : {x.detail}" for x in out["E4"].lines]
    assert any("seuil du groupe : 70,0 % : valeur atteinte par 70,0 % des 10 résultats" in x for x in lines)
    assert any("(78,0 % − 70,0 %) / (80,0 % − 70,0 %) = 80,0 %" in x for x in lines)
    assert any("+0,0 points, stable" in x for x in lines)
    assert lines[-1].endswith("= 32 500 €")
    assert "stable_delta" in out["E4"].unknowns and "unit_value" in out["E4"].unknowns


def digital_group() -> list[Establishment]:
    rows = [  # id, dmp, previous, mss, previous, qls, VE (M€)
        ("D1", 0.25, 0.10, 0.60, 0.50, 0.85, 10),
        ("D2", 0.15, 0.15, 0.40, 0.45, None, 20),
        ("D3", 0.10, 0.05, 0.30, None, None, 10),
        ("D4", 0.05, 0.08, 0.20, 0.10, None, 10),
    ]
    out = []
    for i, d, dp, m, mp, q, ve in rows:
        results = {"dmp": Result(d, dp), "mss": Result(m, mp)}
        if q is not None:
            results[QLS] = Result(q, 0.80)
        out.append(Establishment(i, i, ve * 1e6, results))
    return out


def test_digital_indicators_count_together_for_one():
    """DMP threshold: ⌈0.7 × 4⌉ = 3rd best = 10 %, target 20 %; MSS threshold 30 %, target 50 %.
    DMP: D1 1; D2 ½ × 0.5 + ½ × 0.5 (stable) = 0.5; D3 at the threshold, up: 0.5; D4 0.
    MSS: D1 1; D2 ½ × 0.5 + 0 (down) = 0.25; D3 at the threshold, no previous: 0; D4 up: 0.5.
    Numérique = 0.25 × DMP + 0.75 × MSS: D1 1, D2 0.3125, D3 0.125, D4 0.375.
    D1 also has QLS 85 % ≥ 80 %: Σ = 2 for 2 indicators."""
    year = ifaq.load_year(2023)
    assert year["digital_weights"] == {"dmp": 0.25, "mss": 0.75}
    out = ifaq.model_a(year, digital_group(), ["dmp", "mss", QLS], unit_value=0.01)
    assert {k: a.scores["dmp"] for k, a in out.items()} == {"D1": 1.0, "D2": 0.5, "D3": 0.5, "D4": 0.0}
    assert {k: a.scores["mss"] for k, a in out.items()} == {"D1": 1.0, "D2": 0.25, "D3": 0.0, "D4": 0.5}
    assert {k: a.digital for k, a in out.items()} == {"D1": 1.0, "D2": 0.3125, "D3": 0.125, "D4": 0.375}
    assert out["D1"].total_score == 1.0 and out["D1"].amount == pytest.approx(100_000)
    assert out["D2"].amount == pytest.approx(20e6 * 0.01 * 0.3125)
    # 2025: both set to their maximum value (FHF 2025)
    at_max = ifaq.model_a(ifaq.load_year(2025), digital_group(), ["dmp", "mss"], unit_value=0.01)
    assert {a.digital for a in at_max.values()} == {1.0}


def test_threshold_and_level_edges():
    assert ifaq.threshold([], 0.7) is None
    assert ifaq.threshold([0.5], 0.7) == 0.5
    assert ifaq.threshold([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0], 0.7) == 0.3  # not the 8th
    assert ifaq.level_share(0.5, None, 0.8) == 0.0
    assert ifaq.level_share(0.9, 0.95, 0.8) == 1.0  # above the target whatever the threshold
    assert ifaq.level_share(0.7, 0.6, 0.8) == pytest.approx(0.5)


def test_amount_with_unknown_unit_value_is_a_range():
    year = ifaq.load_year(2024)
    out = ifaq.model_a(year, group_a(), [QLS])
    low, high = year.params["unit_value"].alternatives
    assert out["E1"].amount_range == pytest.approx((10e6 * low, 10e6 * high))
    text = ifaq.amount_fr(out["E1"].amount, out["E1"].amount_range, bool(out["E1"].unknowns))
    central = ifaq.euros(round(10e6 * year["unit_value"] / 1000) * 1000)
    assert text == f"environ {central} (entre 40 000 € et 100 000 €)"


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
    assert ifaq.available_years()[:4] == [2022, 2023, 2024, 2025]
    with pytest.raises(ifaq.IfaqError):
        ifaq.model_b(ifaq.load_year(2024), [], "DMP-LLS")
    with pytest.raises(ifaq.IfaqError):
        ifaq.load_year(2019)
