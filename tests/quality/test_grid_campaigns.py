"""QLS grids by campaign: the SMR and PSY grids (only sourced criteria), the eligibility of each
campaign year with its source (MCO 2022 « plus de 48 h », 2026 « plus de 24 h »), the stays a
campaign audits (the previous year), the HAS minimum of records (« non interprétable ») and the
hand-over « remise ou envoyée via MSSanté » set per grid."""

from __future__ import annotations

import datetime as dt

import pytest

from liaison.demo.synthetic.letters import complete_letter, paris
from liaison.quality.audit import AuditRecord, run_audit
from liaison.quality.evaluate import evaluate
from liaison.quality.grid import GridError, load_grid
from liaison.quality.rules import Result
from liaison.quality.sampling import StayRecord, exclusion_reason

MCO22, MCO26 = load_grid("qls/mco/v2-2022"), load_grid("qls/mco/v2-2026")
SMR, PSY = load_grid("qls/smr/v2-2026"), load_grid("qls/psy/v2-2026")


@pytest.mark.parametrize("grid", [SMR, PSY], ids=["SMR", "PSY"])
def test_smr_and_psy_grids_hold_only_sourced_criteria(grid):
    assert grid.sector in ("SMR", "PSY") and list(grid.eligibility.sectors) == [grid.sector]
    assert grid.campaigns == [2026] and grid.result == "rate_all_or_nothing" and grid.target == 0.80
    assert [i.id for i in grid.items] == [
        "found",
        "handed_over_same_day",
        "signatory",
        "medical_summary",
        "drug_treatment",
    ]
    assert all(i.status.value == "confirmed" for i in grid.items)
    assert grid.national_priorities == []  # the CPAM/ARS campaign concerns MCO
    assert "15 janvier 2026" in grid.source.title and grid.source.url
    assert grid.eligibility.min_population == 31 == grid.min_records
    # what was left out is said in the file, never invented
    text = load_grid.__wrapped__ and (grid.source.note + open_grid_text(grid.id))
    for left_out in ("patient identification", "médecin traitant", "care planning"):
        assert left_out in text


def open_grid_text(grid_id: str) -> str:
    from liaison.quality.grid import GRIDS_DIR

    return (GRIDS_DIR / f"{grid_id}.yaml").read_text(encoding="utf-8")


def test_eligibility_by_campaign_year_with_its_source():
    e22, e24, e26 = (MCO26.eligibility_for(y) for y in (2022, 2024, 2026))
    assert (e22.min_length_hours, e22.length_rule) == (48, "gt") and "plus de 48 h" in e22.note
    assert "ameli" in MCO26.campaign_rule(2022).source.url
    assert (e26.min_length_hours, e26.length_rule) == (24, "gt") and "15 janvier 2026" in e26.note
    assert MCO26.campaign_rule(2024) is None and e24.min_length_hours == 24  # not found: said so
    assert "2024" in MCO26.eligibility.note and "non trouvée" in MCO26.eligibility.note
    # a campaign audits the stays of the year before
    assert (e22.period_start, e22.period_end) == (dt.date(2021, 1, 1), dt.date(2021, 12, 31))
    assert SMR.stays_period(2026) == (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    with pytest.raises(GridError, match="ne sert pas à la campagne 2023"):
        MCO26.eligibility_for(2023)
    # a 30 h stay of 2021: out of the 2022 campaign (> 48 h), in for > 24 h; a 2025 stay is out of 2022
    stay = StayRecord("S1", "MCO", paris(2021, 6, 1, 8), paris(2021, 6, 2, 14))
    assert exclusion_reason(stay, e22) == "durée 30.0 h (il faut > 48 h)"
    assert exclusion_reason(stay, MCO26.eligibility_for(2024)) == "sortie avant la période"
    late = StayRecord("S2", "MCO", paris(2025, 6, 1, 8), paris(2025, 6, 4, 14))
    assert exclusion_reason(late, e26) is None and exclusion_reason(late, e22) == "sortie après la période"


def test_handover_by_mssante_to_the_patient_is_set_per_grid():
    content, facts = complete_letter()
    facts.handed_over_at = None
    facts.sent_to_patient_mss_at = paris(2024, 3, 14, 18)  # the discharge day, Paris
    for grid, met in ((MCO22, False), (MCO26, True), (SMR, True), (PSY, True)):
        gate = grid.item("handed_over_same_day")
        assert gate.params.get("or_mss_to_patient", False) is met
        result = evaluate(content, facts, grid)["handed_over_same_day"].result
        assert result is (Result.MET if met else Result.NOT_MET), grid.id
    facts.sent_to_patient_mss_at = paris(2024, 3, 15, 9)  # the day after: not met anywhere
    assert evaluate(content, facts, SMR)["handed_over_same_day"].result is Result.NOT_MET


def _smr_stays(n: int) -> list[AuditRecord]:
    out = []
    for i in range(n):
        discharge = paris(2025, 3, 1, 10) + dt.timedelta(days=i)
        content, facts = complete_letter(discharge)
        stay = StayRecord(f"R{i:03d}", "SMR", discharge - dt.timedelta(days=20), discharge, "domicile")
        out.append(AuditRecord(stay, content, facts))
    return out


def test_too_few_eligible_stays_is_not_interpretable():
    grid = SMR.for_campaign(2026)
    few = run_audit(grid, _smr_stays(30), seed="s").as_dict()
    assert few["population"]["eligible"] == 30 and few["n"] == 30
    assert few["interpretable"] is False and few["min_records"] == 31
    assert few["interpretation_fr"].startswith("Non interprétable : 30 séjour(s) éligible(s)")
    enough = run_audit(grid, _smr_stays(31), seed="s").as_dict()
    assert enough["interpretable"] is True and enough["interpretation_fr"] is None
    # stays of 2024 are outside the 2026 campaign: they do not count towards the minimum
    old = [AuditRecord(StayRecord("OLD", "SMR", paris(2024, 5, 1), paris(2024, 5, 20)), *complete_letter())]
    a = run_audit(grid, _smr_stays(31) + old, seed="s").as_dict()
    assert a["population"] == {"eligible": 31, "excluded": 1}
