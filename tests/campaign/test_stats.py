"""The pure statistics: summaries, pre-targeting and scoring, difference in differences."""

from __future__ import annotations

import random

import pytest

from liaison.campaign import stats
from liaison.campaign.services import default_config

Obs = stats.Observation


def test_summary_weighted_mean_quartiles_and_satisfactory_share():
    obs = [
        Obs("1", 60, 80, "C"),
        Obs("2", 80, 40, "B"),
        Obs("3", 90, 80, "A"),
        Obs("4", None, None, "DI"),
        Obs("5", 70, 80, "A"),
    ]
    s = stats.summarise(obs, ["A"])
    assert s.weighted_mean == pytest.approx((60 * 80 + 80 * 40 + 90 * 80 + 70 * 80) / 280)
    assert (s.q1, s.median, s.q3) == (67.5, 75.0, 82.5)
    assert s.n_valued == 4 and s.n_establishments == 5 and s.total_weight == 280
    assert s.share_satisfactory == 0.5 and s.classes["DI"] == 1  # DI is outside the denominator
    assert sum(b[2] for b in s.bands) == 4


def _cand(finess, value, **attrs):
    return stats.Candidate(
        finess,
        f"Étab {finess}",
        region="R",
        values={"Q": value},
        weights={"Q": 80},
        evolutions={"Q": attrs.pop("evolution", "")},
        attributes=stats.Attributes(**attrs),
    )


def test_pretargeting_is_below_the_national_weighted_mean():
    cands = [_cand("1", 50), _cand("2", 70), _cand("3", 71), _cand("4", None)]
    below, without, above = stats.pretarget(cands, {"Q": 70.5})
    assert [c.finess for c in below] == ["1", "2"] and without == 1 and above == 1


def test_scoring_follows_the_weights_and_says_why():
    config = stats.ScoringConfig.from_dict(default_config())
    cands = [
        _cand(
            "a",
            60,
            dmp_rate=10,
            mss_rate=20,
            parcours=frozenset({"ic", "prado"}),
            cpts=True,
            evolution="baisse",
        ),
        _cand("b", 60, dmp_rate=90, mss_rate=80, parcours=frozenset(), cpts=False, evolution="hausse"),
        _cand("c", 40),
    ]
    ranked = stats.score(cands, {"Q": 70}, config, {"Q": "QLS MCO"})
    assert [r.candidate.finess for r in ranked] == ["c", "a", "b"]
    a = next(r for r in ranked if r.candidate.finess == "a")
    assert a.reasons[0] == "Sous la moyenne nationale pondérée : QLS MCO 60,0 contre 70,0 (-10,0)."
    assert any("DMP 10 %, MSSanté 20 %" in x for x in a.reasons)
    assert any("insuffisance cardiaque, PRADO" in x for x in a.reasons)
    # only the gap counts: c first, a and b tie on the gap and are ordered by FINESS
    gap_only = stats.ScoringConfig.from_dict(
        {"criteria": {k: {"weight": 1 if k == "gap" else 0} for k in stats.CRITERIA}}
    )
    ranked = stats.score(cands, {"Q": 70}, gap_only, {})
    assert [(r.candidate.finess, r.score) for r in ranked] == [("c", 100.0), ("a", 33.33), ("b", 33.33)]
    with pytest.raises(ValueError, match="inconnu"):
        stats.ScoringConfig.from_dict({"criteria": {"taille_du_parking": {"weight": 1}}})


def test_every_criterion_has_its_scorer_in_the_registry():
    assert set(stats.SCORERS) == set(stats.CRITERIA)


def test_difference_in_differences_on_a_seeded_synthetic_campaign():
    """True effect +4 points for the visited; every measure noisy, so low results regress to the mean."""
    rng = random.Random(7)
    true = [rng.gauss(70, 8) for _ in range(2000)]
    before = [t + rng.gauss(0, 5) for t in true]
    mean = sum(before) / len(before)
    below = [i for i, b in enumerate(before) if b < mean]
    visited = set(rng.sample(below, len(below) // 2))
    pairs = [
        stats.Pair(
            str(i),
            before[i],
            true[i] + (4 if i in visited else 0) + rng.gauss(0, 5),
            i in visited,
            before[i] < mean,
        )
        for i in range(len(true))
    ]
    ev = stats.evaluate(pairs)
    # naive comparison with every non-targeted establishment: inflated by regression to the mean
    assert ev.did > 6
    # against the non-targeted that were also below the mean: close to the true effect
    lo, hi = ev.did_comparable_ci
    assert lo < 4 < hi and abs(ev.did_comparable - 4) < 1
    assert "régression vers la moyenne" in ev.caveat
