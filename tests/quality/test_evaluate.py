"""Gates around midnight in Europe/Paris, v1 score, v2 all-or-nothing, grid loading, speed."""

from __future__ import annotations

import datetime as dt
import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liaison.core.paris import PARIS, paris_day
from liaison.demo.synthetic.letters import complete_letter, paris, random_letter
from liaison.quality.evaluate import evaluate
from liaison.quality.grid import GRIDS_DIR, GridError, Status, all_grids, grid_ids, load_grid, parse_grid
from liaison.quality.rules import Result, registered_rules

UTC = dt.UTC
V1, V2, CA = "qls/mco/v1-2016", "qls/mco/v2-2022", "qls/ca/v2-2022"


def _gates(discharge: dt.datetime, signed: dt.datetime, handed: dt.datetime) -> tuple[Result, Result]:
    content, facts = complete_letter(discharge)
    facts.signed_at, facts.handed_over_at = signed, handed
    return (
        evaluate(content, facts, load_grid(V1))["dated_same_day"].result,
        evaluate(content, facts, load_grid(V2))["handed_over_same_day"].result,
    )


@pytest.mark.parametrize(
    ("discharge", "moment", "expected", "why"),
    [
        # winter, UTC+1: 23:30 Paris = 22:30 UTC; 00:10 Paris next day = 23:10 UTC, same UTC date.
        (paris(2024, 1, 15, 23, 30), paris(2024, 1, 16, 0, 10), Result.NOT_MET, "00:10 le lendemain"),
        (paris(2024, 1, 15, 23, 30), paris(2024, 1, 15, 23, 59), Result.MET, "23:59 le jour même"),
        # 00:30 Paris = 23:30 UTC the day before: same day in Paris although the UTC dates differ.
        (paris(2024, 1, 16, 0, 30), paris(2024, 1, 16, 9, 0), Result.MET, "sortie à 00:30"),
        # summer, UTC+2: 23:30 Paris = 21:30 UTC; 01:30 next day = 23:30 UTC, same UTC date.
        (paris(2024, 7, 1, 23, 30), paris(2024, 7, 2, 1, 30), Result.NOT_MET, "été, 01:30 le lendemain"),
        # the night of the change to summer time (31/03/2024, 02:00 → 03:00)
        (paris(2024, 3, 31, 3, 30), paris(2024, 3, 31, 23, 50), Result.MET, "jour du changement d'heure"),
        (
            paris(2024, 3, 30, 23, 30),
            paris(2024, 3, 31, 0, 5),
            Result.NOT_MET,
            "minuit, veille du changement",
        ),
    ],
)
def test_discharge_day_is_computed_in_paris(
    discharge: dt.datetime, moment: dt.datetime, expected: Result, why: str
) -> None:
    # the same instant given in UTC must give the same answer
    for d, m in ((discharge, moment), (discharge.astimezone(UTC), moment.astimezone(UTC))):
        assert _gates(d, m, m) == (expected, expected), why


def test_naive_datetime_is_read_as_paris_wall_time() -> None:
    assert paris_day(dt.datetime(2024, 1, 15, 23, 30)) == dt.date(2024, 1, 15)
    assert paris_day(dt.datetime(2024, 1, 15, 23, 30, tzinfo=UTC)) == dt.date(2024, 1, 16)


@settings(max_examples=200, deadline=None)
@given(
    discharge=st.datetimes(min_value=dt.datetime(2016, 1, 1), max_value=dt.datetime(2030, 12, 31)),
    delta_minutes=st.integers(min_value=-3 * 24 * 60, max_value=3 * 24 * 60),
)
def test_hand_over_gate_matches_paris_calendar(discharge: dt.datetime, delta_minutes: int) -> None:
    d = discharge.replace(tzinfo=UTC)
    handed = d + dt.timedelta(minutes=delta_minutes)
    _, gate = _gates(d, d, handed)
    same = d.astimezone(PARIS).date() == handed.astimezone(PARIS).date()
    assert (gate is Result.MET) == same


def test_v1_score_is_zero_when_a_gate_fails_and_counts_only_applicable_criteria() -> None:
    grid = load_grid(V1)
    content, facts = complete_letter()
    content.medecin_traitant = content.adresseur = content.receiving_structure = None
    content.no_medecin_traitant = True  # addressee becomes NA: 11 applicable criteria
    content.reason = ""
    content.follow_up = []
    content.procedures_and_exams = ""
    e = evaluate(content, facts, grid)
    assert e["addressee"].result is Result.NOT_APPLICABLE
    assert e.score_v1 == pytest.approx(100 * 8 / 11)
    assert not e.compliant
    facts.signed_at = facts.signed_at + dt.timedelta(days=2)
    e = evaluate(content, facts, grid)
    assert e.gates == {"found": Result.MET, "dated_same_day": Result.NOT_MET}
    assert e.score_v1 == 0.0


def test_v2_is_all_or_nothing_and_explanations_name_the_field() -> None:
    grid = load_grid(V2)
    content, facts = complete_letter()
    assert evaluate(content, facts, grid).compliant
    content.medications = [content.medications[0].model_copy(update={"duration": ""})]
    e = evaluate(content, facts, grid)
    assert not e.compliant and e.gates_passed and e.score_v1 == pytest.approx(100 * 7 / 8)
    [problem] = e.problems()
    assert problem.field == "medications.0.duration"
    assert "AMOXICILLINE 1 g : durée absente" in problem.explanation


def test_letter_not_found_fails_every_item() -> None:
    content, facts = complete_letter()
    facts.exists = False
    e = evaluate(content, facts, load_grid(V2))
    assert set(e.criteria.values()) == {Result.NOT_MET}
    assert e.score_v1 == 0 and not e.compliant


# --- grids ---------------------------------------------------------------------------------------


def test_shipped_grids() -> None:
    assert grid_ids() == [
        "decret/all/r1112-1-2",
        "qls/ca/v2-2022",
        "qls/mco/v1-2016",
        "qls/mco/v2-2022",
        "qls/mco/v2-2026",
        "qls/psy/v2-2026",
        "qls/smr/v2-2026",
    ]
    v1 = load_grid(V1)
    assert [i.order for i in v1.items] == list(range(1, 15))
    assert [g.id for g in v1.gates] == ["found", "dated_same_day"]
    assert v1.result == "score_0_100" and v1.sample.size == 80
    assert set(load_grid(CA).item("emergency_contact").reads) == {"content.emergency_contact"}
    assert "emergency_contact" not in {i.id for i in load_grid(V2).items}
    for grid in all_grids():
        assert len(grid.sha256) == 64
        assert grid.target == 0.80
        assert "deces" in grid.eligibility.exclude_exit_modes
        assert {i.status for i in grid.items} <= set(Status)
        if grid.indicator == "qls" and grid.sector in ("MCO", "CA"):
            # hand-over, care planning, discharge treatment: the campaign's three weak criteria
            assert len(grid.national_priorities) == 3
        elif grid.indicator == "qls":  # the CPAM/ARS campaign concerns MCO: no source for SMR / PSY
            assert grid.national_priorities == []
        for item in grid.items:
            assert item.explanation_fr and item.field and item.rule in registered_rules()


def _v2_text() -> str:
    return (GRIDS_DIR / "qls/mco/v2-2022.yaml").read_text(encoding="utf-8")


def test_a_new_grid_needs_no_code() -> None:
    text = _v2_text().replace("version: v2-2022", "version: v3-test") + (
        "  - id: pending\n    order: 99\n    group: médical\n    label_fr: Résultats en attente\n"
        "    status: our-proposal\n    reads: [content.pending_results]\n    rule: pending_results_stated\n"
        "    absence_statement: true\n    explanation_fr: Résultats en attente non renseignés.\n"
        "    field: pending_results\n"
    )
    grid = parse_grid(text.encode(), "qls/mco/v3-test")
    content, facts = complete_letter()
    content.no_pending_results = False
    e = evaluate(content, facts, grid)
    assert e["pending"].result is Result.NOT_MET and e.grid_version == "v3-test"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("rule: follow_up_stated", "rule: follow_up_magic", "Règle inconnue « follow_up_magic »"),
        ("params: {same_day: true}", "params: {same_dya: true}", "same_dya"),
        ("params: {field: reason}", "params: {field: raison}", "text_present"),
        ("id: reason", "id: stay_dates", "identifiants en double"),
        ("status: unconfirmed", "status: probable", "status"),
    ],
)
def test_bad_grid_is_a_clear_load_error(old: str, new: str, message: str) -> None:
    text = _v2_text()
    assert old in text
    with pytest.raises(GridError, match=message):
        parse_grid(text.replace(old, new, 1).encode(), "test/bad")


def test_unknown_grid_id() -> None:
    with pytest.raises(GridError, match="introuvable"):
        load_grid("qls/mco/v9")
    with pytest.raises(GridError, match="introuvable"):
        load_grid("../../../etc/passwd")


PUBLISHED = {
    "decret/all/r1112-1-2": "dc5341f1683f3fc6b5d32708e3d7a6fd77c59bcecb654ad3b0b56786575052fd",
    "qls/ca/v2-2022": "c8249b9ebc7fbb99032a392c4120195790542ddadf2fee9fa9a91193f02deae7",
    "qls/mco/v1-2016": "0d7d958717078dfdf4bc242ccabd689953603ff8264326f605b5c378d30c1623",
    "qls/mco/v2-2022": "36e84a30bddc92af8a264f169671f453f3a994312f531083ac3f4b164efa4b91",
}


@pytest.mark.parametrize(("grid_id", "sha256"), sorted(PUBLISHED.items()))
def test_published_grid_files_are_never_edited(grid_id: str, sha256: str) -> None:
    """A published grid is never edited: a correction is a new version file (add it here)."""
    assert load_grid(grid_id).sha256 == sha256, f"{grid_id} modifiée : créez une nouvelle version"


def test_evaluation_is_under_a_millisecond() -> None:
    grid = load_grid(V2)
    rng = random.Random(7)
    letters = [random_letter(rng) for _ in range(2000)]
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        for content, facts in letters:
            evaluate(content, facts, grid)
        runs.append((time.perf_counter() - t0) / len(letters))
    assert min(runs) < 1e-3, f"{min(runs) * 1e6:.0f} µs par lettre"
