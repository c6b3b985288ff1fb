"""Targeting weighs the three priority criteria when per-criterion results are given, and the
follow-up calendar (meeting a year after the visit, evaluation on the measure two years after the
reference) shows in the action plan and the evaluation."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from liaison.campaign import follow_up, services, stats
from liaison.campaign.models import (
    ActionPlan,
    Campaign,
    Establishment,
    ImportBatch,
    Indicator,
    Meeting,
    Result,
    Target,
)
from liaison.campaign.reader import ImportRefused
from liaison.campaign.services import default_config
from tests.conftest import valid_finess


def _cand(finess: str, value: float, rates: dict | None = None) -> stats.Candidate:
    return stats.Candidate(
        finess,
        f"Étab {finess}",
        values={"Q": value},
        weights={"Q": 80},
        attributes=stats.Attributes(priority_rates=rates),
    )


def test_priority_criteria_weigh_when_given_and_say_why():
    config = stats.ScoringConfig.from_dict(default_config())
    assert {c.id for c in config.criteria} >= {"priorities"}
    cands = [
        _cand("a", 60, {"handed_over": 80, "care_planning": 90, "discharge_treatment": 85}),
        _cand("b", 60, {"handed_over": 30, "care_planning": 40, "discharge_treatment": 50}),
        _cand("c", 60),
    ]
    ranked = stats.score(cands, {"Q": 70}, config, {"Q": "QLS MCO"})
    # same gap everywhere: the weak priority criteria put b first, c (unknown, neutral) between
    assert [r.candidate.finess for r in ranked] == ["b", "c", "a"]
    b = ranked[0]
    assert any("remise 30 %, planification 40 %, traitement 50 %" in x for x in b.reasons)
    assert any("taux par critère non renseignés (neutre)" in x for x in ranked[1].reasons)
    # by hand: the priorities' share of 100 points is weight / total weight × (1 − mean rate)
    total = sum(c.weight for c in config.criteria)
    w = next(c.weight for c in config.criteria if c.id == "priorities")
    a, bb = (next(r for r in ranked if r.candidate.finess == f) for f in "ab")
    assert bb.score - a.score == pytest.approx(100 * w / total * ((1 - 0.40) - (1 - 0.85)), abs=0.02)


def test_without_per_criterion_results_the_ranking_is_unchanged():
    with_p = stats.ScoringConfig.from_dict(default_config())
    without = stats.ScoringConfig.from_dict(
        {
            **default_config(),
            "criteria": {k: v for k, v in default_config()["criteria"].items() if k != "priorities"},
        }
    )
    cands = [_cand("a", 60), _cand("b", 50), _cand("c", 65)]
    one = stats.score(cands, {"Q": 70}, with_p, {})
    two = stats.score(cands, {"Q": 70}, without, {})
    assert [(r.candidate.finess, r.score, r.reasons) for r in one] == [
        (r.candidate.finess, r.score, r.reasons) for r in two
    ]


def test_follow_up_calendar():
    cal = follow_up.calendar(2024, dt.date(2025, 1, 10), [dt.date(2025, 3, 4)], [], [2025, 2026])
    assert (cal.start, cal.start_is_visit, cal.meeting_due) == (
        dt.date(2025, 3, 4),
        True,
        dt.date(2026, 3, 4),
    )
    assert cal.evaluation_year == 2026 and cal.evaluation_available
    assert cal.meeting_state(dt.date(2026, 1, 1)) == "prévue à partir du 04/03/2026"
    assert cal.meeting_state(dt.date(2026, 4, 1)).startswith("en retard")
    early = follow_up.calendar(2024, dt.date(2025, 1, 10), [dt.date(2025, 3, 4)], [dt.date(2025, 9, 1)], [])
    assert early.meeting_done is None  # six months after the visit is not the one-year meeting
    done = follow_up.calendar(2024, dt.date(2025, 1, 10), [], [dt.date(2026, 2, 1)], [])
    assert not done.start_is_visit and done.meeting_done == dt.date(2026, 2, 1)
    assert done.evaluation_state() == "sur la mesure 2026 : résultats pas encore importés"
    assert follow_up.add_years(dt.date(2024, 2, 29), 1) == dt.date(2025, 2, 28)


@pytest.fixture
def campaign(db):
    ind = Indicator.objects.create(code="QLS_MCO", family="qls", label="QLS MCO")
    batch = ImportBatch.objects.create(
        family="qls", year=2024, file_name="x", sha256="0" * 64, rows=2, results=2
    )
    ests = [Establishment.objects.create(finess_eg=valid_finess(i), name=f"CH {i}") for i in (11, 12)]
    for year, values in ((2024, (50, 60)), (2025, (55, 61)), (2026, (62, 63))):
        for e, v in zip(ests, values, strict=True):
            Result.objects.create(establishment=e, indicator=ind, year=year, value=v, weight=80, batch=batch)
    c = Campaign.objects.create(name="Test", year=2024, indicators=["QLS_MCO"], national={"QLS_MCO": 58})
    t = Target.objects.create(campaign=c, establishment=ests[0], rank=1, score=80, gap=8)
    return c, t


def test_import_of_per_criterion_rates(campaign):
    _c, t = campaign
    f = t.establishment.finess_eg
    n = services.import_attributes(
        f"finess_geo;taux_remise;taux_planification;taux_traitement;source\n{f};41;52,5;60 %;ARS\n"
    )
    t.establishment.refresh_from_db()
    assert n == 1 and t.establishment.priority_rates == {
        "handed_over": 41.0,
        "care_planning": 52.5,
        "discharge_treatment": 60.0,
    }
    with pytest.raises(ImportRefused) as exc:
        services.import_attributes(f"finess_geo;taux_remise;source\n{f};140;ARS\n")
    assert "pourcentage entre 0 et 100" in str(exc.value.errors[0])


def test_plan_and_evaluation_pages_show_the_calendar(client, campaign, campaign_user):
    c, t = campaign
    plan = ActionPlan.objects.create(target=t)
    Meeting.objects.create(plan=plan, kind=Meeting.Kind.VISITE, date=dt.date(2025, 3, 4))
    client.force_login(campaign_user)
    url = reverse("campaign:plan", args=[c.pk, t.pk])
    page = client.get(url).content.decode()
    assert "Calendrier de suivi" in page and "Visite du 04/03/2025" in page
    assert "en retard (prévue à partir du 04/03/2026)" in page  # today is after it, none held
    assert "sur la mesure 2026 : résultats importés" in page
    Meeting.objects.create(plan=plan, kind=Meeting.Kind.SUIVI, date=dt.date(2026, 3, 20))
    assert 'id="suivi">faite le 20/03/2026<' in client.get(url).content.decode()
    ev = client.get(reverse("campaign:evaluation", args=[c.pk])).content.decode()
    assert "Évaluation prévue au calendrier : mesure <strong>2026</strong>" in ev
    assert (
        "la mesure affichée, 2025, n&#x27;est pas celle du calendrier" in ev
        or "la mesure affichée, 2025" in ev
    )
    ev = client.get(reverse("campaign:evaluation", args=[c.pk]), {"annee": 2026}).content.decode()
    assert "n'est pas celle du calendrier" not in ev and "n&#x27;est pas celle" not in ev
