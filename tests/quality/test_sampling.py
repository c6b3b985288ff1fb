"""Eligibility from grid data and the seeded, reproducible draw of 80 with its reserve list."""

from __future__ import annotations

import datetime as dt
import hashlib
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from liaison.demo.synthetic.letters import paris
from liaison.quality.grid import load_grid
from liaison.quality.sampling import StayRecord, draw_sample, exclusion_reason, rank_key, split_eligible

MCO = load_grid("qls/mco/v2-2022").eligibility
CA = load_grid("qls/ca/v2-2022").eligibility


def stay(i: int, hours: float = 72, sector: str = "MCO", exit_mode: str | None = "domicile") -> StayRecord:
    start = paris(2024, 2, 1, 8) + dt.timedelta(hours=i)
    return StayRecord(f"S{i:05d}", sector, start, start + dt.timedelta(hours=hours), exit_mode, "MED")


def population(n: int) -> list[StayRecord]:
    return [stay(i) for i in range(n)]


def test_eligibility_from_grid_data() -> None:
    assert exclusion_reason(stay(1), MCO) is None
    assert "durée" in (exclusion_reason(stay(1, hours=24), MCO) or "")  # "> 24 h": exactly 24 h is out
    assert exclusion_reason(stay(1, hours=24.5), MCO) is None
    assert exclusion_reason(stay(1, exit_mode="deces"), MCO) == "mode de sortie exclu (deces)"
    assert exclusion_reason(stay(1, sector="CA"), MCO) == "secteur CA hors champ"
    assert exclusion_reason(stay(1, hours=6, sector="CA"), CA) is None
    eligible, excluded = split_eligible([stay(1), stay(2, exit_mode="deces"), stay(3, hours=10)], MCO)
    assert [s.stay_id for s in eligible] == ["S00001"]
    assert [e[0] for e in excluded] == ["S00002", "S00003"]


def test_same_seed_same_sample_whatever_the_input_order() -> None:
    stays = population(500)
    shuffled = stays[:]
    random.Random(3).shuffle(shuffled)
    a, b = draw_sample(stays, "2024-QLS", 80, 20), draw_sample(shuffled, "2024-QLS", 80, 20)
    assert a == b
    assert len(a.sample) == 80 and len(a.reserve) == 20
    assert not set(a.sample) & set(a.reserve)
    assert a.population_size == 500
    ids = sorted(s.stay_id for s in stays)
    assert a.population_sha256 == hashlib.sha256("\n".join(ids).encode()).hexdigest()


def test_different_seed_different_sample() -> None:
    stays = population(500)
    assert set(draw_sample(stays, 1, 80).sample) != set(draw_sample(stays, 2, 80).sample)


def test_draw_can_be_redone_by_hand_from_the_documented_method() -> None:
    stays = population(200)
    ids = sorted(s.stay_id for s in stays)
    by_hand = sorted(ids, key=lambda i: hashlib.sha256(f"graine:{i}".encode()).hexdigest())
    d = draw_sample(stays, "graine", 80, 20)
    assert list(d.sample) == by_hand[:80] and list(d.reserve) == by_hand[80:100]


def test_draw_is_pinned() -> None:
    """Same seed and population must give the same sample in every future version of Liaison."""
    d = draw_sample(population(100), "QLS-2024", 5, 2)
    assert d.sample == ("S00030", "S00041", "S00077", "S00061", "S00005")
    assert d.reserve == ("S00016", "S00056")


def test_fewer_than_80_takes_all() -> None:
    d = draw_sample(population(31), "s", 80, 20)
    assert sorted(d.sample) == sorted(s.stay_id for s in population(31))
    assert d.reserve == ()


def test_duplicate_ids_refused() -> None:
    with pytest.raises(ValueError, match="double"):
        draw_sample([stay(1), stay(1)], "s", 80)


def test_replacement_from_reserve_is_logged() -> None:
    d = draw_sample(population(200), "s", 80, 20)
    out, first_reserve = d.sample[3], d.reserve[0]
    d2 = d.replace_from_reserve(out, "séjour hors champ (HDJ)")
    assert out not in d2.sample and first_reserve in d2.sample and len(d2.sample) == 80
    assert d2.reserve == d.reserve[1:]
    assert d2.as_dict()["replacements"] == [
        {"removed": out, "added": first_reserve, "reason": "séjour hors champ (HDJ)"}
    ]
    assert d.sample[3] == out  # the original draw is unchanged
    with pytest.raises(ValueError, match="motif"):
        d.replace_from_reserve(d.sample[0], " ")


@given(st.sets(st.text(alphabet="ABC0123456789-", min_size=1, max_size=8), max_size=150), st.integers())
def test_sample_is_a_subset_in_rank_order(ids: set[str], seed: int) -> None:
    d = draw_sample(ids, seed, 80, 20)
    assert len(d.sample) == min(80, len(ids))
    assert set(d.sample) | set(d.reserve) <= ids
    keys = [rank_key(str(seed), i) for i in d.sample + d.reserve]
    assert keys == sorted(keys)
