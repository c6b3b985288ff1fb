"""Wilson and Wald intervals, classes A/B/C (qls-indicator.md §5 table), Student t."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from liaison.quality.stats import classify, mean_ci_t, proportion, t_quantile, wald, wilson


@pytest.mark.parametrize(
    ("k", "low", "high", "cls_wilson", "cls_wald"),
    [
        (55, None, 0.778, "C", "C"),
        (56, 0.592, 0.789, "C", "B"),
        (57, 0.605, 0.8001, "B", "B"),
        (64, 0.700, 0.873, "B", "B"),
        (70, 0.785, 0.931, "B", "A"),
        (71, 0.7998, 0.940, "B", "A"),
        (72, 0.815, None, "A", "A"),
    ],
)
def test_table_of_qls_indicator_section_5(
    k: int, low: float | None, high: float | None, cls_wilson: str, cls_wald: str
) -> None:
    lo, hi = wilson(k, 80)
    # the table rounds to 0.1 point, or to 0.01 point next to the 80 % target
    if low is not None:
        assert lo == pytest.approx(low, abs=5e-5 if low == 0.7998 else 5e-4)
    if high is not None:
        assert hi == pytest.approx(high, abs=5e-5 if high == 0.8001 else 5e-4)
    assert classify(lo, hi) == cls_wilson
    assert classify(*wald(k, 80)) == cls_wald


def _cut_offs(n: int) -> tuple[int, int]:
    classes = [proportion(k, n).cls for k in range(n + 1)]
    return max(k for k, c in enumerate(classes) if c == "C"), classes.index("A")


@pytest.mark.parametrize(("n", "c_up_to", "a_from"), [(80, 56, 72), (31, 20, 30), (50, 34, 46)])
def test_class_cut_offs(n: int, c_up_to: int, a_from: int) -> None:
    assert _cut_offs(n) == (c_up_to, a_from)
    classes = [proportion(k, n).cls for k in range(n + 1)]
    assert classes == ["C"] * (c_up_to + 1) + ["B"] * (a_from - c_up_to - 1) + ["A"] * (n + 1 - a_from)


def test_proportion_output() -> None:
    p = proportion(64, 80).as_dict()
    assert p["rate"] == 0.8 and p["class"] == "B" and p["n"] == 80
    assert p["ci95"][0] < 0.8 < p["ci95"][1]
    half = 1.96 * math.sqrt(0.8 * 0.2 / 80)
    assert p["wald95"] == pytest.approx([0.8 - half, 0.8 + half])
    empty = proportion(0, 0).as_dict()
    assert empty["rate"] is None and empty["ci95"] is None and empty["class"] is None


@given(st.integers(min_value=1, max_value=2000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_contains_the_rate_and_stays_in_bounds(kn: tuple[int, int]) -> None:
    k, n = kn
    lo, hi = wilson(k, n)
    assert 0.0 <= lo <= k / n <= hi <= 1.0
    # symmetric: failures mirror successes
    lo2, hi2 = wilson(n - k, n)
    assert lo == pytest.approx(1 - hi2, abs=1e-12) and hi == pytest.approx(1 - lo2, abs=1e-12)


def test_invalid_counts() -> None:
    with pytest.raises(ValueError):
        wilson(81, 80)
    with pytest.raises(ValueError):
        proportion(-1, 10)


@pytest.mark.parametrize(
    ("df", "q"), [(1, 12.7062), (2, 4.3027), (10, 2.2281), (30, 2.0423), (79, 1.9905), (1000, 1.9623)]
)
def test_t_quantile(df: int, q: float) -> None:
    assert t_quantile(0.975, df) == pytest.approx(q, abs=1e-4)
    assert t_quantile(0.025, df) == pytest.approx(-q, abs=1e-4)


def test_mean_ci_t() -> None:
    m = mean_ci_t([0, 50, 100, 100, 75])
    assert m.mean == 65 and m.sd == pytest.approx(math.sqrt(1750))
    half = 2.7764 * math.sqrt(1750) / math.sqrt(5)
    assert m.ci95 == pytest.approx((65 - half, 65 + half), abs=1e-3)
    assert mean_ci_t([]).mean is None and mean_ci_t([80]).ci95 is None
