"""The « Indicateurs numériques » page and its oSIS CSV: the quality role only (every role
checked), the figures of the year's definition with their source, the file's declaration fields
and list, the download traced, bad parameters answered in French."""

from __future__ import annotations

import pytest

from liaison.letters.models import AuditEvent
from liaison.letters.permissions import Role
from tests.indicators.test_digital_db import month  # noqa: F401  (the October 2024 fixture)

pytestmark = pytest.mark.django_db
PAGE = "/indicateurs/numeriques/?annee=2024&mois=2024-10"
CSV = "/indicateurs/numeriques/D2.2I.csv?annee=2024&mois=2024-10"


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_role(client, month, role):  # noqa: F811
    client.force_login(month["users"][role])
    expected = 200 if role == Role.QUALITE else 403
    assert client.get(PAGE).status_code == expected
    assert client.get(CSV).status_code == expected


def test_anonymous_goes_to_login(client, month):  # noqa: F811
    assert client.get(PAGE).status_code == 302 and client.get(CSV).status_code == 302


def test_page_shows_each_figure_with_its_source(client, month):  # noqa: F811
    client.force_login(month["users"]["qualite"])
    page = client.get(PAGE).content.decode()
    row = page.split('id="ind-d22i"')[1].split("</tr>")[0]
    assert '<td class="num">1</td><td class="num">3 séjours</td><td class="num">33,3 %</td>' in row
    assert "20,0 %" in row and "64,0 %" in row and "13 décembre 2022" in row
    mss = page.split('id="ind-d63i"')[1].split("</tr>")[0]
    assert '<td class="num">1</td><td class="num">2 correspondants</td><td class="num">50,0 %</td>' in mss
    assert "(indicateur de Liaison)" in page and "choix de Liaison" in page
    assert "DMP non attesté" in page  # the method, beside the figure
    assert "DUPONT" not in page and "IPP001" not in page  # pseudonymised, no name
    y2026 = client.get("/indicateurs/numeriques/?annee=2026&mois=2024-10").content.decode()
    assert "DMP-LLS" in y2026 and "15 janvier 2026" in y2026
    bad = client.get("/indicateurs/numeriques/?annee=1990&mois=2024-13", follow=True).content.decode()
    assert "Mois illisible" in bad and "Année sans définition" in bad


def test_osis_csv_is_traced(client, month):  # noqa: F811
    client.force_login(month["users"]["qualite"])
    before = AuditEvent.objects.count()
    r = client.get(CSV)
    text = r.content.decode("utf-8")
    assert r["Content-Disposition"] == 'attachment; filename="D2.2I-2024-10.csv"'
    assert "# Numérateur : 1\n" in text and "# Dénominateur : 3\n" in text
    assert "# Nombre total de séjours de la période : 3\n" in text
    assert "IPP001" not in text and "S1;" in text
    event = AuditEvent.objects.order_by("-pk").first()
    assert AuditEvent.objects.count() == before + 1 and len(event.details["ids"]) == 3
    assert client.get("/indicateurs/numeriques/SIGN-J0.csv?annee=2024&mois=2024-10").status_code == 404
