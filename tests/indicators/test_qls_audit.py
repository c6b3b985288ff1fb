"""The QLS audit on the establishment's own stays: the command, the saved audit with overrides,
the API, and what the quality role may read."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from liaison.demo.hospital import generate
from liaison.letters.models import Letter, Stay
from liaison.paths import ldl_ses_dir

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 20)
PERIOD = ["--from", "2026-09-01", "--to", "2026-11-20"]


@pytest.fixture
def demo():
    return generate(400, seed=2, today=TODAY)


def _audit_json(*args: str) -> dict:
    out = io.StringIO()
    call_command("audit", *args, "--format", "json", stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


def test_audit_command_json_shape_and_reproducibility(demo):
    first = _audit_json("--sector", "MCO", *PERIOD, "--seed", "1")
    assert first["grid"]["id"] == "qls/mco/v2-2022"
    assert first["n"] == len(first["sample"]) == 80
    record = first["sample"][0]
    assert set(record) >= {"stay", "criteria", "compliant"}
    assert set(record["criteria"].values()) <= {"met", "not_met", "not_applicable"}
    assert record["compliant"] == all(v != "not_met" for v in record["criteria"].values())
    low, high = first["ci95"]
    assert low <= first["rate"] <= high and first["class"] in {"A", "B", "C"}
    # the demo's mixture: most letters miss something, as nationally (class C)
    assert 0.1 < first["rate"] < 0.6 and first["class"] == "C"
    assert 0 < first["score_v1"]["mean"] < 100
    assert _audit_json("--sector", "MCO", *PERIOD, "--seed", "1") == first
    other = _audit_json("--sector", "MCO", *PERIOD, "--seed", "2")
    assert [r["stay"] for r in other["sample"]] != [r["stay"] for r in first["sample"]]
    # only MCO stays of more than 24 h, no deaths, in the sample
    stays = Stay.objects.in_bulk([int(r["stay"]) for r in first["sample"]])
    assert all(s.sector == "MCO" and s.exit_mode != "deces" for s in stays.values())
    assert all((s.discharge_at - s.admission_at) > dt.timedelta(hours=24) for s in stays.values())


def test_compliance_follows_the_letters(demo):
    result = _audit_json("--sector", "MCO", *PERIOD, "--sample", "500")
    by_stay = {int(r["stay"]): r for r in result["sample"]}
    for stay in Stay.objects.filter(pk__in=by_stay).prefetch_related("letters"):
        signed = [x for x in stay.letters.all() if x.status == Letter.Status.SIGNED]
        if not signed:
            assert by_stay[stay.pk]["criteria"]["found"] == "not_met"
            assert not by_stay[stay.pk]["compliant"]
        elif signed[0].handed_over_at is None:
            assert not by_stay[stay.pk]["compliant"]


def test_ambulatory_audit_and_xlsx_export(demo, tmp_path):
    xlsx = tmp_path / "grille.xlsx"
    call_command(
        "audit", "--sector", "CA", *PERIOD, "--xlsx", str(xlsx), stdout=io.StringIO(), stderr=io.StringIO()
    )
    sheet = openpyxl.load_workbook(xlsx).worksheets[0]
    header = [c.value for c in sheet[1]]
    assert sheet.max_row > 10 and any("urgence" in str(h).lower() for h in header)


def test_audit_of_cda_files(tmp_path):
    shutil.copy(ldl_ses_dir() / "ExemplesCDA" / "LDL-SES_2022.01.xml", tmp_path / "ans.xml")
    (tmp_path / "cassé.xml").write_text("<ClinicalDocument><oops", encoding="utf-8")

    def audit(*options: str) -> str:
        """The report is written, then the unreadable file makes the command fail, named on stderr."""
        out, err = io.StringIO(), io.StringIO()
        with pytest.raises(CommandError, match=r"1 fichier\(s\) CDA illisible\(s\) sur 2"):
            call_command("audit", "--letters", str(tmp_path), *options, stdout=out, stderr=err)
        assert "cassé.xml : Le fichier" in err.getvalue() and "XML bien formé" in err.getvalue()
        return out.getvalue()

    results = {r["file"].split("/")[-1]: r for r in json.loads(audit("--format", "json"))}
    assert results["ans.xml"]["criteria"]["medical_summary"] == "met"
    assert results["ans.xml"]["compliant"] is None and results["ans.xml"]["compliant_on_content"] is True
    assert "error" in results["cassé.xml"] and results["cassé.xml"]["error"]
    line = next(x for x in audit("--format", "csv").splitlines() if "ans.xml" in x)
    assert line.endswith(";non vérifiable;oui;;;found,handed_over_same_day")
    assert "non vérifiable sur le document" in audit()


def test_bad_requests_are_explained():
    with pytest.raises(CommandError, match="Précisez --sector"):
        call_command("audit", "--from", "2026-10-01")
    with pytest.raises(CommandError, match="Pas de grille QLS par défaut"):
        call_command("audit", "--sector", "PSY", *PERIOD)


def test_saved_audit_overrides_and_quality_access(client, demo):
    from django.contrib.auth.models import User

    from liaison.indicators.models import QlsCampaign
    from liaison.indicators.qls import the_establishment

    quality = User.objects.get(username="qualite")
    QlsCampaign.objects.create(
        establishment=the_establishment(),
        sector="MCO",
        period_from=dt.date(2026, 9, 1),
        period_to=dt.date(2026, 11, 20),
        declared_by=User.objects.get(username="admin.etab"),
    )
    client.force_login(quality)
    resp = client.post(
        "/api/quality/audits",
        {"sector": "MCO", "start": "2026-09-01", "end": "2026-11-20"},
        content_type="application/json",
    )
    assert resp.status_code == 200, resp.content
    audit = resp.json()
    record = next(r for r in audit["sample"] if r["criteria"]["drug_treatment"] == "not_met")
    stay_id = int(record["stay"])
    resp = client.post(
        f"/api/quality/audits/{audit['id']}/overrides",
        {
            "stay": stay_id,
            "criterion": "drug_treatment",
            "result": "met",
            "reason": "Ordonnance de sortie retrouvée dans le dossier papier",
        },
        content_type="application/json",
    )
    assert resp.status_code == 200
    reviewed = next(r for r in resp.json()["sample"] if r["stay"] == str(stay_id))
    assert reviewed["criteria"]["drug_treatment"] == "met"
    assert reviewed["automatic"]["criteria"]["drug_treatment"] == "not_met"  # both kept, both visible
    assert reviewed["overrides"][0]["reason"].startswith("Ordonnance")
    again = client.get(f"/api/quality/audits/{audit['id']}").json()
    assert [r["stay"] for r in again["sample"]] == [r["stay"] for r in audit["sample"]]  # frozen sample
    # the quality role reads the letters of the sample, and only those
    letter = Letter.objects.filter(stay_id=stay_id).first()
    if letter:
        assert client.get(f"/lettres/{letter.pk}/").status_code == 200
    outside = Letter.objects.exclude(stay_id__in=[int(r["stay"]) for r in audit["sample"]]).first()
    assert client.get(f"/lettres/{outside.pk}/").status_code == 403
    bad = client.post(
        f"/api/quality/audits/{audit['id']}/overrides",
        {"stay": stay_id, "criterion": "drug_treatment", "result": "met", "reason": " "},
        content_type="application/json",
    )
    assert bad.status_code == 422 and "motif" in bad.json()["detail"]


def test_clinicians_cannot_run_audits(client, demo):
    from django.contrib.auth.models import User

    client.force_login(User.objects.get(username="dr.martin"))
    resp = client.get("/api/quality/audit", {"start": "2026-09-01", "end": "2026-11-20"})
    assert resp.status_code == 403 and "qualité" in resp.json()["detail"]


ROLES = {  # demo account → status of the audit grid export
    "dr.martin": 403,
    "interne.petit": 403,
    "sf.robin": 403,
    "sec.durand": 403,
    "ide.moreau": 403,
    "qualite": 200,
    "admin.etab": 403,
    "campagne.ars": 403,
}


def test_audit_page_offers_its_grid_as_csv_and_xlsx_for_quality_only(client, demo):
    from django.contrib.auth.models import User

    from liaison.indicators import qls
    from liaison.letters.models import AuditEvent

    saved = qls.start_audit(
        qls.the_establishment(), qls.default_grid("MCO"), dt.date(2026, 9, 1), TODAY, "1", None
    )
    cli = _audit_json("--sector", "MCO", *PERIOD, "--seed", "1")
    base = f"/indicateurs/qls/{saved.pk}/grille"
    assert client.get(f"{base}.csv").status_code == 302  # anonymous: to the login page
    for username, status in ROLES.items():
        client.force_login(User.objects.get(username=username))
        assert client.get(f"{base}.csv").status_code == status, username
        assert client.get(f"{base}.xlsx").status_code == status, username
        client.logout()
    client.force_login(User.objects.get(username="qualite"))
    assert f'href="{base}.xlsx"' in client.get(f"/indicateurs/qls/{saved.pk}/").content.decode()
    before = AuditEvent.objects.count()
    text = client.get(f"{base}.csv").content.decode("utf-8-sig")
    rows = [line.split(";") for line in text.splitlines()]
    assert rows[0][0] == "Séjour" and rows[0][-3] == "Conforme"
    sample = [r for r in rows[1:] if r and r[0].isdigit()]
    # the same draw as the CLI: same stays, and the rate recomputed from the rows
    assert [r[0] for r in sample] == [r["stay"] for r in cli["sample"]]
    compliant = sum(r[-3] == "oui" for r in sample)
    assert compliant == cli["compliant"]
    rate_line = next(r for r in rows if r[0] == "Taux de lettres conformes")
    assert rate_line[1] == f"{100 * compliant / len(sample):.1f} %"
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"{base}.xlsx").content))
    assert book.worksheets[0].max_row == len(sample) + 1
    assert AuditEvent.objects.count() == before + 2  # each export of patient rows is traced
    assert client.get("/indicateurs/qls/999999/grille.csv").status_code == 404


def test_letter_facts_carry_the_first_accepted_mssante_sending_to_the_patient(demo):
    from django.utils import timezone

    from liaison.delivery.models import Delivery
    from liaison.indicators import qls

    letter = Letter.objects.filter(status=Letter.Status.SIGNED).first()
    letter.deliveries.filter(recipient_role="patient").delete()
    now = timezone.now()
    common = {"letter": letter, "channel": "mssante", "recipient_role": "patient", "next_attempt_at": now}
    Delivery.objects.create(**common, recipient_address="a@patient.mssante.fr", state="failed")
    Delivery.objects.create(
        **common,
        recipient_address="b@patient.mssante.fr",
        state="delivered",
        sent_at=now - dt.timedelta(hours=2),
    )
    Delivery.objects.create(**common, recipient_address="c@patient.mssante.fr", state="sent", sent_at=now)
    facts = qls.letter_facts(letter.stay, letter)
    assert facts.sent_to_patient_mss_at == now - dt.timedelta(hours=2)
