"""Campaign pages: who may see them, the whole path through the UI, no patient anywhere."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from liaison.campaign.models import ActionItem, Campaign, Establishment, Result


def _client(client, user):
    client.force_login(user)
    return client


def _user(name: str, group: str) -> User:
    u = User.objects.create_user(name, password="x")
    u.groups.add(Group.objects.get_or_create(name=group)[0])
    return u


@pytest.mark.parametrize("name", ["home", "figures", "targeting", "establishments"])
def test_anonymous_is_sent_to_login(client, db, name):
    response = client.get(reverse(f"campaign:{name}"))
    assert response.status_code == 302 and "/connexion/" in response["Location"]


def test_clinician_is_refused_and_quality_reads_figures_only(client, imported):
    doctor = _user("dr", "medecin")
    c = _client(client, doctor)
    for name in ("home", "figures", "targeting", "establishments"):
        assert c.get(reverse(f"campaign:{name}")).status_code == 403
    assert c.get(reverse("campaign:establishment_pdf", args=["010000198"])).status_code == 403
    c.logout()
    c = _client(client, _user("dim", "qualite"))
    assert c.get(reverse("campaign:figures")).status_code == 200
    assert c.get(reverse("campaign:home")).status_code == 200
    assert c.get(reverse("campaign:targeting")).status_code == 403
    assert c.get(reverse("campaign:establishment", args=["010000198"])).status_code == 403


def test_import_target_profile_plan_evaluate_through_the_pages(client, campaign_user, esatis_files, hospital):
    c = _client(client, campaign_user)
    assert c.get(reverse("campaign:home")).status_code == 200
    r = c.post(reverse("campaign:import_opendata"), follow=True)
    assert "esatis_ssr_from_iqss_recueil2023.xlsx (2023, 1268 établissements)" in r.content.decode()
    r = c.get(
        reverse("campaign:figures"), {"indicateur": "ESATIS_SMR_GLOBAL", "annee": 2023, "par": "departement"}
    )
    assert 'id="national-wmean">76,14<' in r.content.decode()
    r = c.get(
        reverse("campaign:targeting"),
        {"indicateur": "ESATIS_SMR_GLOBAL", "annee": 2023, "region": "Bretagne"},
    )
    page = r.content.decode()
    assert "Classement" in page and "Sous la moyenne nationale pondérée" in page
    r = c.post(
        reverse("campaign:targeting"),
        {
            "indicateur": "ESATIS_SMR_GLOBAL",
            "annee": 2023,
            "region": "Bretagne",
            "nom": "Bretagne",
            "w_gap": "5",
        },
    )
    campaign = Campaign.objects.get(name="Bretagne")
    assert r.status_code == 302 and campaign.config["criteria"]["gap"]["weight"] == 5
    page = c.get(reverse("campaign:campaign", args=[campaign.pk])).content.decode()
    assert "Évaluation avant / après (2023 → 2024)" in page
    target = campaign.targets.first()
    keep = list(campaign.targets.values_list("pk", flat=True))[::2]
    c.post(reverse("campaign:campaign", args=[campaign.pk]), {"action": "selection", "retenu": keep})
    assert campaign.targets.filter(selected=True).count() == len(keep)
    c.post(
        reverse("campaign:campaign", args=[campaign.pk]),
        {"action": "ponderations", "rule": "any", "w_gap": "1"},
    )
    campaign.refresh_from_db()
    assert campaign.config["criteria"]["gap"]["weight"] == 1
    # action plan from the template, an item done, a visit, an attachment
    url = reverse("campaign:plan", args=[campaign.pk, target.pk])
    c.post(url, {"action": "create"})
    item = ActionItem.objects.get(plan__target=target, criterion="handed_over")
    c.post(url, {"action": "status", "item": item.pk, "status": "fait"})
    c.post(
        url,
        {
            "action": "meeting",
            "meeting-kind": "visite",
            "meeting-date": "2025-03-04",
            "meeting-participants": "DAM, direction",
            "meeting-notes": "Visite",
        },
    )
    c.post(url, {"action": "attachment", "file": SimpleUploadedFile("cr.txt", b"compte rendu")})
    page = c.get(url).content.decode()
    assert 'id="progress">1/3<' in page and "Visite" in page and "cr.txt" in page
    finess = target.establishment.finess_eg
    page = c.get(reverse("campaign:establishment", args=[finess])).content.decode()
    assert target.establishment.name in page and "Établissements comparables" in page
    r = c.post(
        reverse("campaign:establishment", args=[finess]),
        {
            "dmp_rate": "35",
            "mss_rate": "20",
            "cpts": "true",
            "beds": "120",
            "attributes_source": "ARS",
            "parcours_known": "on",
            "parcours_codes": ["ic"],
        },
    )
    assert r.status_code == 302 and Establishment.objects.get(finess_eg=finess).parcours == ["ic"]
    pdf = c.get(reverse("campaign:establishment_pdf", args=[finess]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    page = c.get(reverse("campaign:evaluation", args=[campaign.pk])).content.decode()
    assert "Différence de différences" in page and "régression vers la moyenne" in page
    # the campaign user never meets a patient: the demo hospital's patient appears nowhere
    for u in (reverse("campaign:home"), reverse("campaign:establishments") + "?q=CH", url):
        assert "DUPONT" not in c.get(u).content.decode()
    assert c.get(reverse("stays")).content.decode().count("DUPONT") == 0


def test_bad_upload_lists_the_lines_and_imports_nothing(client, campaign_user, esatis_files):
    import openpyxl

    wb = openpyxl.load_workbook(esatis_files[2024])
    ws = wb["Resultats"]
    ws.cell(row=5, column=3, value="010000199")
    ws.cell(row=9, column=10, value=-3)
    buf = io.BytesIO()
    wb.save(buf)
    c = _client(client, campaign_user)
    upload = SimpleUploadedFile("resultats-recueil2024.xlsx", buf.getvalue())
    page = c.post(reverse("campaign:import"), {"file": upload}, follow=True).content.decode()
    assert "Import refusé, rien n&#x27;a été importé : 2 erreur(s)." in page
    assert "Ligne 5, colonne « finess_geo » : FINESS inexistant" in page
    assert "Ligne 9, colonne « score_ALL_ssr_ajust » : valeur -3 hors de l&#x27;intervalle [0 ; 100]." in page
    assert not Result.objects.exists()
