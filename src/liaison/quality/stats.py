"""Rates, 95 % confidence intervals and classes A/B/C for QLS (qls-indicator.md §5).

- Wilson score interval, z = 1.96, no continuity correction (our proposal); Wald bounds too, so
  results can be compared once the HAS method is known.
- Class against the 80 % target (unconfirmed reading of HAS practice): A if the lower bound is
  above the target, C if the upper bound is below it, B otherwise.
- Mean of v1 record scores with a Student-t 95 % interval (t quantile computed here, no scipy).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

Z95 = 1.96


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k successes out of n (no continuity correction)."""
    if n <= 0 or not 0 <= k <= n:
        raise ValueError(f"Effectifs invalides : k={k}, n={n}.")
    p = k / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    # exact bounds at the edges (floating point would give 0.9999999999999999)
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return low, high


def wald(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wald (normal approximation) interval, clipped to [0, 1]."""
    if n <= 0 or not 0 <= k <= n:
        raise ValueError(f"Effectifs invalides : k={k}, n={n}.")
    p = k / n
    half = z * math.sqrt(p * (1 - p) / n)
    return max(0.0, p - half), min(1.0, p + half)


def classify(low: float, high: float, target: float = 0.80) -> str:
    """A if the whole interval is above the target, C if below, B if it straddles it."""
    if low > target:
        return "A"
    if high < target:
        return "C"
    return "B"


@dataclass(frozen=True)
class Proportion:
    k: int
    n: int
    target: float

    @property
    def rate(self) -> float | None:
        return self.k / self.n if self.n else None

    @property
    def ci95(self) -> tuple[float, float] | None:
        return wilson(self.k, self.n) if self.n else None

    @property
    def wald95(self) -> tuple[float, float] | None:
        return wald(self.k, self.n) if self.n else None

    @property
    def cls(self) -> str | None:
        ci = self.ci95
        return classify(*ci, self.target) if ci else None

    @property
    def cls_wald(self) -> str | None:
        ci = self.wald95
        return classify(*ci, self.target) if ci else None

    def as_dict(self) -> dict[str, Any]:
        ci, wd = self.ci95, self.wald95
        return {
            "k": self.k,
            "n": self.n,
            "rate": self.rate,
            "ci95": list(ci) if ci else None,
            "wald95": list(wd) if wd else None,
            "class": self.cls,
            "class_wald": self.cls_wald,
            "target": self.target,
        }


def proportion(k: int, n: int, target: float = 0.80) -> Proportion:
    if n < 0 or not 0 <= k <= max(n, 0):
        raise ValueError(f"Effectifs invalides : k={k}, n={n}.")
    return Proportion(k, n, target)


# --- Student t ----------------------------------------------------------------------------------


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        for num in (
            m * (b - m) * x / ((a + m2 - 1) * (a + m2)),
            -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1)),
        ):
            d = 1 + num * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    ln_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1) / (a + b + 2):
        return math.exp(ln_front) * _betacf(a, b, x) / a
    return 1 - math.exp(ln_front) * _betacf(b, a, 1 - x) / b


def t_cdf(t: float, df: float) -> float:
    tail = 0.5 * _betainc(df / 2, 0.5, df / (df + t * t))
    return 1 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """Quantile of Student's t with `df` degrees of freedom, by bisection on the CDF."""
    if not 0 < p < 1 or df <= 0:
        raise ValueError("p doit être dans ]0, 1[ et df > 0.")
    lo, hi = -1e4, 1e4
    for _ in range(200):
        mid = (lo + hi) / 2
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12:
            break
    return (lo + hi) / 2


@dataclass(frozen=True)
class MeanCI:
    n: int
    mean: float | None
    sd: float | None
    ci95: tuple[float, float] | None

    def as_dict(self) -> dict[str, Any]:
        return {"n": self.n, "mean": self.mean, "sd": self.sd, "ci95": list(self.ci95) if self.ci95 else None}


def mean_ci_t(values: Iterable[float]) -> MeanCI:
    """Mean with a two-sided 95 % Student-t interval (needs n ≥ 2 for the interval)."""
    xs: Sequence[float] = list(values)
    n = len(xs)
    if n == 0:
        return MeanCI(0, None, None, None)
    mean = sum(xs) / n
    if n == 1:
        return MeanCI(1, mean, None, None)
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    half = t_quantile(0.975, n - 1) * sd / math.sqrt(n)
    return MeanCI(n, mean, sd, (mean - half, mean + half))
