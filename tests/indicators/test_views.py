"""Indicator pages: who may see them, the dashboard's figures and charts, proofs (pseudonymised or
not, traced), the QLS audit page with an override, the IFAQ page and the PDF report."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pytest
from django.contrib.auth.models import User

from liaison.demo.hospital import generate
from liaison.indicators import compute
from liaison.letters.models import PARIS, AuditEvent, Establishment, Patient

pytestmark = pytest.mark.django_db

TODAY = dt.datetime.now(PARIS).date()


@pytest.fixture(scope="module")
def demo_db(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        generate(300, seed=5, today=TODAY)
    yield
    with django_db_blocker.unblock():
        from django.core.management import call_command

        call_command("flush", interactive=False, verbosity=0)


def _client(client, username: str):
    client.force_login(User.objects.get(username=username))
    return client


def _previous_month() -> tuple[dt.date, dt.date]:
    last = TODAY.replace(day=1) - dt.timedelta(days=1)
    return last.replace(day=1), last


def test_dashboard_for_quality_shows_every_figure_and_charts(demo_db, client):
    c = _client(client, "qualite")
    start, end = _previous_month()
    r = c.get("/indicateurs/")
    assert r.status_code == 200
    html = r.content.decode()
    res = compute.compute(Establishment.objects.get(), start, end, with_qls=False)
    for ind in res.defs.indicators:
        f = res.totals[ind.id]
        assert f'id="ind-{ind.id}"' in html and ind.label.replace("'", "&#x27;") in html
        assert f'<td class="num">{f.numerator}</td>' in html
    assert html.count("<svg") >= 5  # trend, units compared, three delay distributions
    assert "Les trois critères prioritaires" in html and "Choix de Liaison" in html
    assert "Pseudonymisés" in html or "pseudonymisés" in html


def test_one_name_one_figure(demo_db, client):
    """Figures that differ carry names that say how: the legal hand-over rate over every stay
    (HAND-J0) is not the QLS criterion over the grid's eligible stays nor the audit sample's; each
    priority rate shows the counts it is computed from."""
    import re

    c = _client(client, "qualite")
    start, end = _previous_month()
    html = c.get(f"/indicateurs/?du={start}&au={end}").content.decode()
    table = html.split('id="indicateurs"')[1].split("</table>")[0]
    labels = re.findall(r"<summary><strong>(.*?)</strong>", table)
    assert len(labels) == len(set(labels))
    assert (
        "Remise au patient tracée au plus tard le jour de la sortie, tous les séjours du périmètre" in labels
    )
    assert (
        "Séjours éligibles à la grille (évaluation continue)" in html
        and "Échantillon du dernier audit" in html
    )
    res = compute.compute(Establishment.objects.get(), start, end, with_qls=True)
    for crit in res.qls["continuous"]["national_priorities"].values():
        n = crit["met"] + crit["not_met"]
        assert f"({crit['met']}/{n} séjours)" in html.split('id="priorites"')[1].split("</table>")[0]


def test_roles(demo_db, client):
    assert client.get("/indicateurs/").status_code == 302  # to the login page
    _client(client, "campagne.ars")
    assert client.get("/indicateurs/").status_code == 403
    client.logout()
    _client(client, "dr.martin")  # a physician: their units only, no audits nor IFAQ
    html = client.get("/indicateurs/").content.decode()
    assert "Maternité" not in html.split('id="par-service"')[1].split("</thead>")[0]
    assert client.get("/indicateurs/qls/").status_code == 403
    assert client.get("/indicateurs/ifaq/").status_code == 403


def test_proofs_pseudonymised_for_quality_named_for_clinicians_and_traced(demo_db, client):
    start, end = _previous_month()
    q = f"?du={start.isoformat()}&au={end.isoformat()}"
    _client(client, "qualite")
    r = client.get(f"/indicateurs/preuves/HAND-J0.csv{q}")
    assert r.status_code == 200 and r["Content-Disposition"].startswith("attachment")
    text = r.content.decode()
    rows = list(csv.reader([x for x in text.splitlines() if not x.startswith("#")], delimiter=";"))
    res = compute.compute(Establishment.objects.get(), start, end, with_qls=False)
    assert len(rows) - 1 == res.totals["HAND-J0"].denominator
    assert (
        sum(r[rows[0].index("Au numérateur")] == "oui" for r in rows[1:]) == res.totals["HAND-J0"].numerator
    )
    names = set(Patient.objects.values_list("birth_family_name", flat=True))
    assert not any(n in text for n in names if len(n) > 3)
    event = AuditEvent.objects.filter(username="qualite", action="list").latest("at")
    assert "preuve HAND-J0" in event.why and len(event.details["ids"]) == len(rows) - 1
    client.logout()
    _client(client, "dr.martin")
    r = client.get(f"/indicateurs/preuves/HAND-J0.xlsx{q}")
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    header = [c.value for c in wb.worksheets[1][1]]
    assert "Nom" in header and "IPP" in header
    assert client.get(f"/indicateurs/preuves/NOPE.csv{q}").status_code == 404


def test_qls_audit_page_with_override(demo_db, client):
    from liaison.indicators.models import QlsCampaign

    _client(client, "qualite")
    start = TODAY - dt.timedelta(days=50)
    QlsCampaign.objects.create(
        establishment=Establishment.objects.get(), sector="MCO", period_from=start, period_to=TODAY
    )
    r = client.post(
        "/indicateurs/qls/",
        {"sector": "MCO", "from": start.isoformat(), "to": TODAY.isoformat(), "seed": "3", "label": "Test"},
    )
    assert r.status_code == 302
    url = r["Location"]
    html = client.get(url).content.decode()
    assert "IC 95 % de Wilson" in html and "classe" in html and 'id="echantillon"' in html
    stay = html.split('id="sejour-')[1].split('"')[0]
    r = client.post(
        url,
        {"stay": stay, "criterion": "found", "result": "met", "reason": "Lettre retrouvée au dossier papier"},
    )
    assert r.status_code == 302
    html = client.get(url).content.decode()
    assert "Lettre retrouvée au dossier papier" in html and 'class="overridden"' in html
    r = client.post(url, {"stay": stay, "criterion": "found", "result": "met", "reason": " "}, follow=True)
    assert "Correction refusée" in r.content.decode()
    # the dashboard now shows the latest audit
    assert 'id="ind-QLS-AUDIT"' in client.get("/indicateurs/").content.decode()


def test_ifaq_page_explains_the_amount(demo_db, client):
    _client(client, "qualite")
    html = client.get("/indicateurs/ifaq/?annee=2026&ve=100000000").content.decode()
    assert "Simulation IFAQ 2026 (modèle B)" in html and "DMP-LLS" in html
    assert "Pourquoi ce montant" in html and "67 200 000 €" in html and "inconnu (hypothèse)" in html
    html = client.get("/indicateurs/ifaq/?annee=2024&ve=100000000&seuil=50&vu=0,001").content.decode()
    assert "modèle A" in html and "VU = 0,001000 (hypothèse saisie)" in html
    # without a stated unit value the amount rests on Liaison's hypothesis: rounded, with its range
    html = client.get("/indicateurs/ifaq/?annee=2024&ve=100000000&seuil=50").content.decode()
    assert "Montant simulé : environ " in html and " (entre " in html
    assert "Valeur unitaire du groupe VU" in html and "règles DGOS 2022" in html


def test_pdf_report(demo_db, client):
    _client(client, "qualite")
    r = client.get("/indicateurs/rapport.pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    assert "Indicateurs de la lettre de liaison" in text and "Tendance sur 12 mois" in text
