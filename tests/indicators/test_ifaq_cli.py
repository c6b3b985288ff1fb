"""`liaison ifaq --year Y --input FILE.csv`: the contract of the issue, recomputed by hand.

The file of test_ifaq.digital_group (four establishments of one group, DMP and MSS) is written as
CSV; the JSON must carry, per establishment and indicator, the level / evolution / score shares,
one « numerique » row = 0.25 × DMP + 0.75 × MSS, and the amount when ve is given.
"""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from liaison.indicators import ifaq_groups
from liaison.indicators.ifaq import IfaqError

CSV = """finess,group,ve,indicator,result,previous_result,target
750000001,MCO-1,10000000,dmp,0.25,0.10,
750000001,MCO-1,10000000,mss,0.60,0.50,
750000001,MCO-1,10000000,qls_mco,0.85,0.80,
750000002,mco 1,20000000,dmp,0.15,0.15,
750000002,mco 1,20000000,mss,0.40,0.45,
750000003,MCO-1,,dmp,0.10,0.05,
750000003,MCO-1,,mss,0.30,,
750000004,MCO-1,10000000,dmp,0.05,0.08,
750000004,MCO-1,10000000,mss,0.20,0.10,
"""


def run(tmp_path, text: str, *args: str) -> str:
    f = tmp_path / "ifaq.csv"
    f.write_text(text, encoding="utf-8")
    out = io.StringIO()
    call_command("ifaq", "--input", str(f), *args, stdout=out)
    return out.getvalue()


def by_key(rows: list[dict]) -> dict[tuple[str, str], dict]:
    return {(r["finess"], r["indicator"]): r for r in rows}


def test_json_contract(tmp_path):
    rows = json.loads(run(tmp_path, CSV, "--year", "2024", "--format", "json", "--unit-value", "0.01"))
    k = by_key(rows)
    for r in rows:
        assert {"finess", "indicator", "level", "evolution", "score"} <= set(r)
    d2 = k[("750000002", "dmp")]
    assert (d2["level"], d2["evolution"], d2["score"], d2["threshold"]) == (0.5, 0.5, 0.5, 0.10)
    assert k[("750000003", "mss")]["evolution"] is None  # no previous result
    assert k[("750000001", "dmp")]["score"] == 1.0 and not k[("750000001", "dmp")]["evolution_counted"]
    numerique = {
        f: k[(f, "numerique")]["score"] for f in ("750000001", "750000002", "750000003", "750000004")
    }
    assert numerique == {"750000001": 1.0, "750000002": 0.3125, "750000003": 0.125, "750000004": 0.375}
    # amounts only where ve is given; with a stated unit value, to the cent
    assert ("750000003", "total") not in k
    t1, t2 = k[("750000001", "total")], k[("750000002", "total")]
    assert t1["amount"] == 100_000.0 and t1["score"] == 1.0  # (QLS 1 + numérique 1) / 2 × 10 M€ × 0.01
    assert t2["amount"] == 62_500.0 and t2["group"] == "MCO-1"


def test_amounts_on_the_unknown_unit_value_are_rounded_ranges(tmp_path):
    rows = json.loads(run(tmp_path, CSV, "--year", "2024", "--format", "json"))
    t2 = by_key(rows)[("750000002", "total")]
    # 20 M€ × 0.3125 × VU, VU between 0.004 and 0.010 (hypothesis), rounded to the thousand
    assert t2["amount_range"] == [25_000.0, 62_000.0] and t2["amount_rounded_to"] == 1000
    assert t2["amount"] % 1000 == 0 and 25_000 <= t2["amount"] <= 62_000
    assert "unit_value" in {u["key"] for u in t2["unknowns"]}


def test_percentages_and_semicolons_read_the_same(tmp_path):
    """0.72, 72 and « 72,0 % » are one rate; « ; » separators with decimal commas are read too."""
    lines = [line.split(",") for line in CSV.splitlines()]
    for row in lines[1:]:
        for i in (4, 5):
            if row[i]:
                row[i] = f"{100 * float(row[i]):.1f}".replace(".", ",") + (" %" if i == 4 else "")
    as_pct = "\n".join(";".join(row) for row in lines) + "\n"
    assert "25,0 %;10,0;" in as_pct
    a = json.loads(run(tmp_path, CSV, "--year", "2024", "--format", "json"))
    b = json.loads(run(tmp_path, as_pct, "--year", "2024", "--format", "json"))
    assert [(r["finess"], r["indicator"], r["score"]) for r in a] == [
        (r["finess"], r["indicator"], r["score"]) for r in b
    ]


def test_table_shows_shares_and_the_unknowns(tmp_path):
    out = run(tmp_path, CSV, "--year", "2024")
    assert "Simulation IFAQ 2024" in out and "numerique" in out and "31,25" not in out
    assert "0,31" in out and "non publiés" in out


@pytest.mark.parametrize(
    "text, message",
    [
        ("finess,group,ve,indicator,result\n", "Colonnes manquantes : previous_result"),
        (CSV.replace("750000004,", "7500004,", 1), "9 caractères"),
        (CSV + "750000001,MCO-1,10000000,dmp,0.3,,\n", "figure deux fois"),
        (CSV.replace("MCO-1,10000000,dmp,0.05", "MCO-9,10000000,dmp,0.05"), "Groupe de comparaison inconnu"),
        (CSV.replace("0.15,0.15", "150 %,0.15"), "hors de \\[0 ; 100 %\\]"),
        (CSV.replace("0.15,0.15", "1.5,0.15"), "Taux ambigus"),
        (CSV.replace("0.20,0.10", "abc,0.10"), "nombre invalide"),
        (CSV.replace("MCO-1,10000000,dmp,0.25", "MCO,10000000,dmp,0.25"), "indiquez le groupe"),
    ],
)
def test_bad_files_get_a_french_error(tmp_path, text, message):
    with pytest.raises(CommandError, match=message):
        run(tmp_path, text, "--year", "2024")


def test_2026_is_model_b(tmp_path):
    with pytest.raises(CommandError, match="modèle B"):
        run(tmp_path, CSV, "--year", "2026")


def test_groups_from_activity_figures():
    A = ifaq_groups.Activity
    assert ifaq_groups.assign(A("SMR", stays=1200, gn_for_80=35))[0] == "SSR-1"
    assert ifaq_groups.assign(A("SSR", stays=1200, gn_for_80=12))[0] == "SSR-2"
    assert ifaq_groups.assign(A("SSR", stays=500, gn_for_80=25))[0] == "SSR-3"
    assert ifaq_groups.assign(A("SSR", stays=729, gn_for_80=19))[0] == "SSR-4"
    assert ifaq_groups.assign(A("PSY", active_file=10_000))[0] == "PSY-1"
    assert ifaq_groups.assign(A("PSY", active_file=9_999))[0] == "PSY-2"
    assert ifaq_groups.assign(A("PSY", active_file=3_999, sectorised=True))[0] == "PSY-3"
    assert ifaq_groups.assign(A("PSY", active_file=100, sectorised=False, full_time=True))[0] == "PSY-4"
    assert ifaq_groups.assign(A("PSY", active_file=100, sectorised=False, full_time=False))[0] == "PSY-5"
    assert ifaq_groups.assign(A("HAD"))[0] == "HAD"
    assert len(ifaq_groups.group_ids()) == 17
    with pytest.raises(IfaqError, match="ne figurent pas dans nos sources"):
        ifaq_groups.assign(A("MCO", stays=10_000))
    with pytest.raises(IfaqError, match="file active"):
        ifaq_groups.assign(A("PSY"))


def test_group_assigned_in_the_file(tmp_path):
    text = (
        "finess,group,ve,indicator,result,previous_result,active_file,sectorised\n"
        "750000001,PSY,1000000,qls_psy,0.9,0.9,5000,\n"
        "750000002,PSY,1000000,qls_psy,0.7,0.6,200,oui\n"
    )
    k = by_key(json.loads(run(tmp_path, text, "--year", "2024", "--format", "json")))
    assert k[("750000001", "total")]["group"] == "PSY-2" and k[("750000002", "total")]["group"] == "PSY-3"
    assert "file active 5000" in k[("750000001", "total")]["group_reason"]
