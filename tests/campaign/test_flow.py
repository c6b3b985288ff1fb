"""Targeting, profile PDF and evaluation on the imported e-Satis SMR data and a synthetic QLS campaign."""

from __future__ import annotations

import io
import random

import pypdf
import pytest
from django.core.management import call_command

from liaison.campaign import services
from liaison.campaign.models import ActionItem, ActionPlan, Campaign, Establishment, Target
from liaison.campaign.profile_pdf import render_profile_pdf
from liaison.campaign.reader import ImportRefused
from liaison.demo.synthetic import campaign as synthetic


def test_targeting_below_the_national_mean_with_reasons(imported):
    national = services.national_means(["ESATIS_SMR_GLOBAL"], 2023)["ESATIS_SMR_GLOBAL"]
    result = services.run_targeting(["ESATIS_SMR_GLOBAL"], 2023)
    assert len(result.ranked) == 229 and result.n_without_value == 848
    assert all(r.candidate.values["ESATIS_SMR_GLOBAL"] < national for r in result.ranked)
    assert [r.rank for r in result.ranked] == list(range(1, 230))
    assert all(a.score >= b.score for a, b in zip(result.ranked, result.ranked[1:], strict=False))
    assert all(r.reasons[0].startswith("Sous la moyenne nationale pondérée") for r in result.ranked)
    regional = services.run_targeting(["ESATIS_SMR_GLOBAL"], 2023, region="Bretagne")
    assert regional.ranked and all(r.candidate.region == "Bretagne" for r in regional.ranked)
    assert regional.national == result.national  # the national mean stays national


def test_attributes_change_the_rank_and_are_imported_all_or_nothing(imported):
    campaign = services.save_campaign("Bretagne 2023", ["ESATIS_SMR_GLOBAL"], 2023, region="Bretagne")
    last = campaign.targets.order_by("-rank").first()
    finess = last.establishment.finess_eg
    csv_text = (
        "finess_geo;taux_dmp;taux_mssante;parcours;cpts;lits;source\n"
        f"{finess};5;3;ic|avc|bpco|prado|ambu;oui;400;ARS Bretagne 2025\n"
    )
    assert services.import_attributes(csv_text) == 1
    est = Establishment.objects.get(finess_eg=finess)
    assert est.dmp_rate == 5 and est.parcours == ["ambu", "avc", "bpco", "ic", "prado"] and est.cpts is True
    services.rescore(campaign, campaign.config)
    assert Target.objects.get(pk=last.pk).rank < last.rank
    with pytest.raises(ImportRefused) as exc:
        services.import_attributes(
            f"finess_geo;taux_dmp;source\n{finess};12;x\n010000199;10;x\n350000000;150;x\n"
        )
    errors = [str(e) for e in exc.value.errors]
    assert errors[0].startswith("Ligne 3, colonne « finess_geo » : FINESS inexistant")
    assert Establishment.objects.get(finess_eg=finess).dmp_rate == 5  # nothing applied


def test_profile_pdf(imported, tmp_path):
    finess = "010000198"
    name = Establishment.objects.get(finess_eg=finess).name
    pdf = render_profile_pdf(services.profile(finess))
    assert pdf.startswith(b"%PDF")
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert name in text and "Organisation de la sortie" in text and "Établissements comparables" in text
    assert "aucune donnée de patient" in text
    out = tmp_path / "profil.pdf"
    call_command("campaign", "profile", "--finess", finess, "--out", str(out))
    assert out.read_bytes().startswith(b"%PDF")


def test_evaluation_on_the_real_pair_of_years_shows_regression_to_the_mean(imported):
    """No campaign ran between 2023 and 2024: a seeded half of the below-mean are 'visited'."""
    campaign = services.save_campaign("Synthétique 2023", ["ESATIS_SMR_GLOBAL"], 2023)
    rng = random.Random(3)
    ids = list(campaign.targets.values_list("pk", flat=True))
    visited = rng.sample(ids, len(ids) // 2)
    campaign.targets.exclude(pk__in=visited).update(selected=False)
    ev = services.evaluate_campaign(campaign)
    r = ev.result
    assert (ev.year_before, ev.year_after) == (2023, 2024)
    assert r.targeted.change > r.control.change  # regression to the mean, not an effect
    lo, hi = r.did_comparable_ci
    assert lo < 0 < hi  # against comparable non-targeted: nothing
    assert "régression vers la moyenne" in r.caveat


def test_synthetic_qls_campaign_through_the_whole_chain(db, tmp_path):
    """The qls-qualhas mapping: import two synthetic years, target, visit half, evaluate (+8 points)."""
    pop = synthetic.population(400, seed=5)
    f1 = tmp_path / "resultats-iqss-qualhas-open-data-2022.csv"
    f1.write_text(synthetic.qls_csv(pop, 2022, seed=5), encoding="utf-8")
    assert services.import_file(f1).rows == 400
    campaign = services.save_campaign("QLS fictive", ["QLS_MCO", "QLS_CA"], 2022)
    ids = list(campaign.targets.values_list("pk", flat=True))
    visited = set(random.Random(5).sample(ids, len(ids) // 2))
    campaign.targets.exclude(pk__in=visited).update(selected=False)
    boosted = frozenset(
        campaign.targets.filter(selected=True).values_list("establishment__finess_eg", flat=True)
    )
    f2 = tmp_path / "resultats-iqss-qualhas-open-data-2024.csv"
    f2.write_text(synthetic.qls_csv(pop, 2024, seed=5, boosted=boosted, effect=8), encoding="utf-8")
    services.import_file(f2)
    r = services.evaluate_campaign(campaign, "QLS_MCO").result
    lo, hi = r.did_comparable_ci
    assert lo < 8 < hi and lo > 0
    call_command("campaign", "evaluate", "--campaign", str(campaign.pk), "--indicator", "QLS_MCO")


def test_action_plan_progress(imported):
    campaign = services.save_campaign("Plan", ["ESATIS_SMR_GLOBAL"], 2023, region="Corse")
    target = campaign.targets.first()
    plan = ActionPlan.objects.create(target=target)
    for c, status in (
        ("handed_over", "fait"),
        ("care_planning", "en_cours"),
        ("discharge_treatment", "abandonne"),
    ):
        ActionItem.objects.create(plan=plan, criterion=c, action="x", status=status)
    assert plan.progress() == (1, 2)


def test_cli_end_to_end(db, esatis_files, capsys):
    call_command("campaign", "import-opendata")
    call_command(
        "campaign", "figures", "--indicator", "ESATIS_SMR_GLOBAL", "--year", "2024", "--by", "department"
    )
    call_command(
        "campaign",
        "target",
        "--indicator",
        "ESATIS_SMR_GLOBAL",
        "--year",
        "2023",
        "--top",
        "2",
        "--save",
        "CLI",
    )
    out = capsys.readouterr().out
    assert (
        "1248 établissements" in out and "moyenne pondérée" in out and "Campagne « CLI » enregistrée" in out
    )
    assert Campaign.objects.get(name="CLI").targets.count() == 229


def test_no_patient_anywhere_in_the_campaign_models():
    from django.apps import apps

    for model in apps.get_app_config("campaign").get_models():
        for field in model._meta.get_fields():
            related = getattr(field, "related_model", None)
            if related is not None:
                assert related._meta.app_label in ("campaign", "auth"), (model, field)
