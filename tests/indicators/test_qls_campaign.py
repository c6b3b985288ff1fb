"""The HAS draw of a QLS campaign (issue 16, finding 4): the quality role no longer chooses its
sample. The administrator declares the campaign (sector, period); the quality role draws its
80 records + 20 in reserve once, recorded with who and when; any other size or period is
refused in French (API 4xx, form error on the page); only a campaign's draw opens letters."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User

from liaison.demo.hospital import generate
from liaison.indicators import qls
from liaison.indicators.models import QlsAudit, QlsCampaign
from liaison.letters.models import Letter

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 20)
START, END = dt.date(2026, 9, 1), dt.date(2026, 11, 20)
ACCOUNTS = {  # demo account → may draw
    "dr.martin": False,
    "interne.petit": False,
    "sf.robin": False,
    "sec.durand": False,
    "ide.moreau": False,
    "qualite": True,
    "admin.etab": False,
    "campagne.ars": False,
}


@pytest.fixture(scope="module")
def demo_db(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        generate(400, seed=2, today=TODAY)
    yield
    with django_db_blocker.unblock():
        from django.core.management import call_command

        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def campaign(demo_db):
    return QlsCampaign.objects.create(
        establishment=qls.the_establishment(),
        sector="MCO",
        label="Campagne QLS 2026",
        period_from=START,
        period_to=END,
        declared_by=User.objects.get(username="admin.etab"),
    )


def _draw(client, **payload):
    return client.post("/api/quality/audits", payload, content_type="application/json")


def test_the_quality_role_draws_the_has_sample_of_the_declared_campaign_once(client, campaign):
    client.force_login(User.objects.get(username="qualite"))
    first = _draw(client, campaign=campaign.pk, seed="7")
    assert first.status_code == 200, first.content
    body = first.json()
    assert body["n"] == len(body["sample"]) == 80 and len(body["draw"]["reserve"]) == 20
    assert body["drawn_by"] == "qualite" and body["drawn_at"]
    assert body["campaign"]["id"] == campaign.pk and body["campaign"]["start"] == "2026-09-01"
    saved = QlsAudit.objects.get(campaign=campaign)
    assert saved.created_by.username == "qualite" and (saved.period_from, saved.period_to) == (START, END)

    again = _draw(client, campaign=campaign.pk, seed="8")
    assert again.status_code == 409
    assert "déjà été tiré" in again.json()["detail"] and "par qualite" in again.json()["detail"]
    # by sector and period, the same campaign: still one draw
    assert _draw(client, sector="MCO", start="2026-09-01", end="2026-11-20").status_code == 409
    assert QlsAudit.objects.count() == 1


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"sample": 100000}, "fixé par la HAS à 80 dossiers"),
        ({"sample": 81}, "une taille de 81 est refusée"),
        ({"start": "2026-01-01"}, "La période d'un audit QLS est celle de la campagne déclarée"),
        ({"end": "2026-12-31"}, "une autre période est refusée"),
        ({"campaign": None, "start": "2026-01-01", "end": "2026-12-31"}, "Aucune campagne QLS MCO déclarée"),
        ({"campaign": 999999}, "Aucune campagne QLS n° 999999"),
        ({"campaign": None}, "Précisez la campagne"),
        ({"grid": "decret/all/r1112-1-2"}, "n'est pas une grille QLS du secteur MCO"),
    ],
)
def test_another_size_or_period_is_refused_in_french(client, campaign, payload, reason):
    client.force_login(User.objects.get(username="qualite"))
    answer = _draw(client, **{"campaign": campaign.pk, **payload})
    assert answer.status_code == 422
    assert reason in answer.json()["detail"]
    assert not QlsAudit.objects.exists()


def test_the_unsaved_audit_keeps_the_has_size_too(client, campaign):
    client.force_login(User.objects.get(username="qualite"))
    big = client.get("/api/quality/audit", {"start": "2026-01-01", "end": "2026-11-20", "sample": 100000})
    assert big.status_code == 422 and "fixé par la HAS" in big.json()["detail"]
    ok = client.get("/api/quality/audit", {"start": "2026-09-01", "end": "2026-11-20"})
    assert ok.status_code == 200 and ok.json()["n"] == 80
    # the continuous self-assessment of every record: aggregate figures
    assert ok.json()["full"]["n"] > 80 and "sample" not in ok.json()["full"]


@pytest.mark.parametrize("username", [*ACCOUNTS, None])
def test_every_role_on_the_draw_endpoint_and_page(client, campaign, username):
    if username:
        client.force_login(User.objects.get(username=username))
    api = _draw(client, campaign=campaign.pk)
    page = client.get("/indicateurs/qls/")
    form = client.post("/indicateurs/qls/", {"campaign": campaign.pk})
    if username and ACCOUNTS[username]:
        assert api.status_code == 200 and page.status_code == 200
        assert form.status_code == 400  # drawn already by the API call just before
    else:
        assert api.status_code in (401, 403)
        assert page.status_code == (403 if username else 302)
        assert form.status_code == (403 if username else 302)
        assert not QlsAudit.objects.exists()


def test_the_page_draws_a_declared_campaign_and_shows_refusals_in_the_form(client, campaign):
    client.force_login(User.objects.get(username="qualite"))
    html = client.get("/indicateurs/qls/").content.decode()
    assert f'<option value="{campaign.pk}"' in html and "80 dossiers + 20 en réserve" in html
    assert 'name="from"' not in html and 'name="sample"' not in html  # no period, no size to choose

    for posted, reason in (
        ({"campaign": campaign.pk, "sample": "500"}, "une taille de 500 est refusée"),
        ({"sector": "MCO", "from": "2026-01-01", "to": "2026-11-20"}, "Aucune campagne QLS MCO déclarée"),
        ({"campaign": campaign.pk, "from": "2026-10-01"}, "une autre période est refusée"),
    ):
        refused = client.post("/indicateurs/qls/", posted)
        assert refused.status_code == 400
        text = refused.content.decode()
        assert 'id="erreur-tirage"' in text and reason in text
    assert not QlsAudit.objects.exists()

    drawn = client.post("/indicateurs/qls/", {"campaign": campaign.pk, "seed": "3"})
    assert drawn.status_code == 302
    saved = QlsAudit.objects.get(campaign=campaign)
    listing = client.get("/indicateurs/qls/").content.decode()
    assert f"audit n° {saved.pk}</a>, tiré le" in listing and "par qualite" in listing
    twice = client.post("/indicateurs/qls/", {"campaign": campaign.pk, "seed": "4"})
    assert twice.status_code == 400 and "un seul tirage par campagne" in twice.content.decode()


def test_only_the_campaign_draw_opens_letters_to_the_quality_role(client, campaign):
    quality = User.objects.get(username="qualite")
    grid = qls.default_grid("MCO")
    # an audit saved by the CLI (no campaign) on another period opens nothing
    cli = qls.start_audit(campaign.establishment, grid, dt.date(2026, 6, 1), END, "99", None)
    with pytest.raises(qls.AuditError, match="une taille de 500 est refusée"):
        qls.start_audit(campaign.establishment, grid, START, END, "1", None, 500)
    drawn = qls.draw_campaign(campaign, "5", quality)
    sample = {int(s) for s in drawn.draw["sample"]}
    client.force_login(quality)
    inside = Letter.objects.filter(stay_id__in=sample).first()
    assert client.get(f"/lettres/{inside.pk}/").status_code == 200
    only_cli = {int(s) for s in cli.draw["sample"]} - sample - {int(s) for s in drawn.draw["reserve"]}
    outside = Letter.objects.filter(stay_id__in=only_cli).first()
    assert client.get(f"/lettres/{outside.pk}/").status_code == 403
    reserve_only = Letter.objects.filter(stay_id__in=[int(s) for s in drawn.draw["reserve"]]).first()
    assert client.get(f"/lettres/{reserve_only.pk}/").status_code == 403


def test_the_administrator_declares_the_campaign_and_cannot_move_a_drawn_one(client, campaign):
    admin = User.objects.get(username="admin.etab")
    client.force_login(admin)
    added = client.post(
        "/admin/indicators/qlscampaign/add/",
        {
            "establishment": campaign.establishment.pk,
            "label": "Campagne CA",
            "sector": "CA",
            "period_from": "2026-09-01",
            "period_to": "2026-11-20",
        },
    )
    assert added.status_code == 302
    declared = QlsCampaign.objects.get(label="Campagne CA")
    assert declared.declared_by == admin
    qls.draw_campaign(campaign, "1", User.objects.get(username="qualite"))
    url = f"/admin/indicators/qlscampaign/{campaign.pk}/"
    moved = client.post(
        f"{url}change/",
        {
            "establishment": campaign.establishment.pk,
            "sector": "MCO",
            "period_from": "2026-01-01",
            "period_to": "2026-11-20",
        },
    )
    assert moved.status_code == 403
    assert client.post(f"{url}delete/", {"post": "yes"}).status_code == 403
    campaign.refresh_from_db()
    assert campaign.period_from == START
