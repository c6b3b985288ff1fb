"""`liaison audit --campaign-year`: the grid's eligibility for that campaign and the previous
year's stays; an audit on fewer eligible stays than the HAS minimum reads « non interprétable »
in the command and on the audit page."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command

from liaison.indicators import qls
from liaison.quality.grid import load_grid

pytestmark = pytest.mark.django_db


def _json(*args: str) -> dict:
    out = io.StringIO()
    call_command("audit", *args, "--format", "json", stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


def test_campaign_year_sets_eligibility_and_period(hospital):
    stay = hospital["stay"]  # MCO, 10 → 14 Nov 2026: a stay of the 2027 campaign's year, not 2026's
    a = _json("--grid", "qls/mco/v2-2026", "--campaign-year", "2026")
    assert a["grid"]["id"] == "qls/mco/v2-2026" and a["population"]["eligible"] == 0
    assert a["interpretable"] is False and a["interpretation_fr"].startswith(
        "Non interprétable : 0 séjour(s)"
    )
    stay.admission_at, stay.discharge_at = (
        dt.datetime(2025, 3, 1, 9, tzinfo=dt.UTC),
        dt.datetime(2025, 3, 3, 8, tzinfo=dt.UTC),
    )
    stay.save()  # 47 h in 2025: in the 2026 campaign (> 24 h); out of the 2022 rule (> 48 h)
    assert _json("--grid", "qls/mco/v2-2026", "--campaign-year", "2026")["population"]["eligible"] == 1
    out = io.StringIO()
    call_command("audit", "--grid", "qls/mco/v2-2026", "--campaign-year", "2026", stdout=out)
    assert "non interprétable" in out.getvalue()
    with pytest.raises(CommandError, match="ne sert pas à la campagne 2025"):
        call_command("audit", "--grid", "qls/mco/v2-2026", "--campaign-year", "2025", stdout=io.StringIO())
    with pytest.raises(CommandError, match="ne s'enregistre pas"):
        call_command("audit", "--sector", "MCO", "--campaign-year", "2026", "--save", stdout=io.StringIO())


def test_audit_page_says_non_interpretable(client, hospital):
    saved = qls.start_audit(
        hospital["est"], load_grid("qls/mco/v2-2022"), dt.date(2026, 11, 1), dt.date(2026, 11, 30), "1", None
    )
    client.force_login(hospital["users"]["qualite"])
    page = client.get(f"/indicateurs/qls/{saved.pk}/").content.decode()
    assert "<strong>non interprétable</strong>" in page
    assert "Non interprétable : 1 séjour(s) éligible(s), moins que le minimum de 31" in page
