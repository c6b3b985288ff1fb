"""Establishment indicators: the SQL figures recomputed independently from the raw rows of the
demo hospital, the command's JSON, Paris days at midnight and DST, and proofs that reconcile."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import Counter, defaultdict

import openpyxl
import pytest
from django.core.management import call_command

from liaison.delivery.models import Delivery
from liaison.demo.hospital import generate
from liaison.indicators import compute, exports
from liaison.indicators import definitions as d
from liaison.letters.models import PARIS, Establishment, Letter, Stay
from tests.conftest import paris

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 20)
START, END = dt.date(2026, 10, 1), dt.date(2026, 10, 31)
PRO = {"medecin_traitant", "adresseur", "structure_aval"}


@pytest.fixture(scope="module")
def demo_db(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        summary = generate(400, seed=2, today=TODAY)
    yield summary
    with django_db_blocker.unblock():
        from django.core.management import call_command as cc

        cc("flush", interactive=False, verbosity=0)


@pytest.fixture
def est(demo_db) -> Establishment:
    return Establishment.objects.get()


# --- the independent recomputation: plain Python over plain rows ------------------------------


def _day(t: dt.datetime) -> dt.date:
    return t.astimezone(PARIS).date()


def _delay(t: dt.datetime | None, stay: Stay) -> int | None:
    return None if t is None else (_day(t) - _day(stay.discharge_at)).days


def naive_figures(start: dt.date, end: dt.date) -> tuple[dict, dict]:
    """Numerator and denominator per indicator, and per (indicator, unit name), from the rows."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_unit: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])

    def count(ind: str, unit: str, den: bool, num: bool) -> None:
        if den:
            for bucket in (totals[ind], per_unit[ind, unit]):
                bucket[1] += 1
                bucket[0] += num

    stays = Stay.objects.select_related(
        "unit", "patient__medecin_traitant", "adresseur", "receiving_structure"
    ).prefetch_related("letters__deliveries")
    for s in stays:
        if s.cancelled or s.discharge_at is None or s.exit_mode == "deces":
            continue
        if not start <= _day(s.discharge_at) <= end or s.sector not in {"MCO", "CA", "SMR", "HAD"}:
            continue
        signed = [x for x in s.letters.all() if x.status != Letter.Status.DRAFT and x.signed_at]
        first_sign = min((x.signed_at for x in signed), default=None)
        first_hand = min((x.handed_over_at for x in signed if x.handed_over_at), default=None)
        dels = [dv for x in signed for dv in x.deliveries.all()]
        accepted = [
            dv for dv in dels if dv.channel == "mssante" and dv.state in {"sent", "delivered", "read"}
        ]

        def first_sent(roles: set[str], accepted=accepted) -> dt.datetime | None:
            return min((dv.sent_at for dv in accepted if dv.recipient_role in roles), default=None)

        dmp = min(
            (
                dv.acknowledged_at or dv.sent_at
                for dv in dels
                if dv.channel == "dmp" and dv.state in {"delivered", "read"}
            ),
            default=None,
        )
        p = s.patient
        mt_mss = bool(p.medecin_traitant and p.medecin_traitant.mssante)
        pro_mss = mt_mss or any(c and c.mssante for c in (s.adresseur, s.receiving_structure))
        qualified = p.identity_status == "qualifiee" and bool(p.ins_matricule)
        sign, hand = _delay(first_sign, s), _delay(first_hand, s)
        mt, pro = _delay(first_sent({"medecin_traitant"}), s), _delay(first_sent(PRO), s)
        pat, dmp_d = _delay(first_sent({"patient"}), s), _delay(dmp, s)
        u = s.unit.name
        count("SIGN-J0", u, True, sign is not None and sign <= 0)
        count("HAND-J0", u, True, hand is not None and hand <= 0)
        for k in (0, 1, 2, 7):
            count(f"MT-J{k}", u, mt_mss, mt is not None and mt <= k)
        count("DMP", u, True, dmp_d is not None)
        count("DMP-ELIG", u, qualified, dmp_d is not None)
        count("DMP-J0", u, qualified, dmp_d is not None and dmp_d <= 0)
        count("MSS-PS", u, pro_mss, pro is not None)
        count("MSS-J0", u, pro_mss, pro is not None and pro <= 0)
        count("MSS-PAT", u, qualified, pat is not None)
        before = any(x.signed_at < s.discharge_at for x in signed)
        count("SIGN-AVANT-SORTIE", u, True, before)
        count("CORR-APRES-SORTIE", u, before, any(x.discharge_check == "a_corriger" for x in s.letters.all()))
        for dv in dels:
            if dv.channel == "mssante" and dv.state in {"sent", "delivered", "read"}:
                count("ACK-RECU", u, True, dv.state in {"delivered", "read"})
                count("ACK-LU", u, True, dv.state == "read")
    return dict(totals), dict(per_unit)


def test_figures_match_an_independent_recomputation(est):
    res = compute.compute(est, START, END, with_qls=False)
    totals, per_unit = naive_figures(START, END)
    assert res.stays > 150  # a month of the demo hospital
    for ind in res.defs.indicators:
        fig = res.totals[ind.id]
        assert [fig.numerator, fig.denominator] == totals[ind.id], ind.id
        for unit_id, figs in res.by_unit.items():
            name = res.units[unit_id]
            expected = per_unit.get((ind.id, name), [0, 0])
            assert [figs[ind.id].numerator, figs[ind.id].denominator] == expected, (ind.id, name)
        # the breakdowns add up to the total
        assert sum(f[ind.id].denominator for f in res.by_physician.values()) == fig.denominator
        assert sum(f[ind.id].numerator for f in res.by_month.values()) == fig.numerator


def test_demo_figures_are_plausible(est):
    res = compute.compute(est, START, END, with_qls=True)
    v = {i: f.value for i, f in res.totals.items()}
    # the demo's profiles: ~8 % signed the next day, ~8 % drafts, ~4 % without letter
    assert 0.7 < v["SIGN-J0"] < 0.95
    assert 0.55 < v["HAND-J0"] < v["SIGN-J0"]
    assert v["MT-J0"] <= v["MT-J1"] <= v["MT-J2"] <= v["MT-J7"] <= 1
    assert v["DMP"] < v["DMP-ELIG"] and v["DMP-J0"] <= v["DMP-ELIG"]
    assert v["ACK-LU"] < v["ACK-RECU"] < 1
    cont = res.qls["continuous"]
    assert cont["denominator"] > 100 and 0.1 < cont["value"] < 0.7
    dist = dict((k, n) for k, _, n in res.distributions["DELAI-MT"])
    assert sum(dist.values()) == res.totals["MT-J0"].denominator
    assert dist["j0"] == res.totals["MT-J0"].numerator
    assert dist["j0"] + dist["j1"] == res.totals["MT-J1"].numerator


def test_command_json_shape(est):
    out = io.StringIO()
    call_command(
        "indicators", "--from", START.isoformat(), "--to", END.isoformat(), "--format", "json", stdout=out
    )
    data = json.loads(out.getvalue())
    assert data["period"] == {"from": "2026-10-01", "to": "2026-10-31"}
    ids = [i["id"] for i in data["indicators"]]
    assert {"SIGN-J0", "HAND-J0", "MT-J7", "DMP", "MSS-PS", "MSS-PAT", "ACK-LU", "QLS-CONTINU"} <= set(ids)
    for i in data["indicators"]:
        assert {"id", "label", "numerator", "denominator", "value"} <= set(i)
        assert 0 <= i["numerator"] <= i["denominator"]
        assert i["value"] == pytest.approx(i["numerator"] / i["denominator"])
    csv_out = io.StringIO()
    call_command(
        "indicators",
        "--from",
        START.isoformat(),
        "--to",
        END.isoformat(),
        "--format",
        "csv",
        "--no-qls",
        stdout=csv_out,
    )
    rows = list(csv.DictReader(io.StringIO(csv_out.getvalue()), delimiter=";"))
    by_id = {i["id"]: i for i in data["indicators"]}
    assert {r["id"]: int(r["numerator"]) for r in rows} == {
        r["id"]: by_id[r["id"]]["numerator"] for r in rows
    }


@pytest.mark.parametrize("indicator_id", ["SIGN-J0", "MT-J1", "DMP-ELIG", "MSS-PS", "ACK-RECU"])
def test_proofs_reconcile_with_the_figures(est, indicator_id, tmp_path):
    defs = d.load()
    ind = defs.get(indicator_id)
    res = compute.compute(est, START, END, defs, with_qls=False)
    proof = exports.build(est, START, END, ind, defs, identified=False)
    fig = res.totals[indicator_id]
    assert len(proof.rows) == fig.denominator
    col = proof.header.index("Au numérateur")
    assert sum(r[col] == "oui" for r in proof.rows) == fig.numerator
    # to the unit: per service
    service = proof.header.index("Service")
    per_service = Counter((r[service], r[col]) for r in proof.rows)
    for unit_id, figs in res.by_unit.items():
        name = res.units[unit_id]
        assert per_service[name, "oui"] == figs[indicator_id].numerator
        assert per_service[name, "oui"] + per_service[name, "non"] == figs[indicator_id].denominator
    # CSV: the definition in comment lines, then the same rows
    text = exports.to_csv(proof)
    lines = [x for x in text.splitlines() if not x.startswith("#")]
    assert "# Définition : " + ind.definition in text
    parsed = list(csv.reader(lines, delimiter=";"))
    assert parsed[0] == proof.header and len(parsed) - 1 == fig.denominator
    # XLSX: the definition sheet and the rows
    wb = openpyxl.load_workbook(io.BytesIO(exports.to_xlsx(proof)))
    meta = {r[0].value: r[1].value for r in wb["Définition"].iter_rows()}
    assert meta["Numérateur"] == ind.numerator_text
    assert meta["Résultat"].startswith(f"{fig.numerator} / {fig.denominator}")
    sheet = wb.worksheets[1]
    assert sheet.max_row - 1 == fig.denominator


def test_pseudonymised_proof_has_no_identity_and_identified_one_has(est):
    defs = d.load()
    stay = Stay.objects.select_related("patient").filter(discharge_at__date__gte=START).first()
    pseudo = exports.to_csv(exports.build(est, START, END, defs.get("SIGN-J0"), defs, identified=False))
    named = exports.to_csv(exports.build(est, START, END, defs.get("SIGN-J0"), defs, identified=True))
    families = set(Stay.objects.values_list("patient__birth_family_name", flat=True))
    assert not any(f";{f};" in pseudo for f in families)
    assert any(f";{f};" in named for f in families)
    assert "IPP" in named.splitlines()[13]
    h = exports.pseudonym(est, stay.patient.ipp)
    assert len(h) == 16 and h == exports.pseudonym(est, stay.patient.ipp) and stay.patient.ipp not in h


def test_proof_command_writes_xlsx(est, tmp_path):
    out = tmp_path / "preuve.xlsx"
    err = io.StringIO()
    call_command(
        "indicators",
        "--from",
        START.isoformat(),
        "--to",
        END.isoformat(),
        "--proof",
        "dmp",
        "--out",
        str(out),
        stderr=err,
    )
    assert "pseudonymisée" in err.getvalue()
    assert openpyxl.load_workbook(out).sheetnames == ["Définition", "Séjours"]


# --- Paris days: midnight and daylight saving time -------------------------------------------------


def test_paris_days_across_midnight_and_dst(hospital):
    """Discharged at 23:30 the night before the spring DST change; signed at 00:10 Paris, which is
    still the same UTC day: one day late. Sent to the GP at 01:00 Paris the day after (J+1)."""
    stay = hospital["stay"]
    stay.admission_at = paris(2026, 3, 25, 9)
    stay.discharge_at = paris(2026, 3, 28, 23, 30)
    stay.save()
    signed = paris(2026, 3, 29, 0, 10)
    assert signed.astimezone(dt.UTC).date() == stay.discharge_at.astimezone(dt.UTC).date()
    letter = Letter.objects.create(
        stay=stay,
        status="signed",
        signed_at=signed,
        signed_by=hospital["users"]["medecin"].practitioner,
        handed_over_at=paris(2026, 3, 28, 23, 0),
    )
    Delivery.objects.create(
        letter=letter,
        channel="mssante",
        recipient_role="medecin_traitant",
        recipient_address=hospital["gp"].mssante,
        state="delivered",
        next_attempt_at=signed,
        sent_at=paris(2026, 3, 30, 1, 0),
        acknowledged_at=paris(2026, 3, 30, 1, 2),
    )
    res = compute.compute(hospital["est"], dt.date(2026, 3, 1), dt.date(2026, 3, 31), with_qls=False)
    f = {k: (v.numerator, v.denominator) for k, v in res.totals.items()}
    assert f["SIGN-J0"] == (0, 1)
    assert f["HAND-J0"] == (1, 1)  # handed over before midnight
    assert f["MT-J0"] == (0, 1) and f["MT-J1"] == (0, 1) and f["MT-J2"] == (1, 1)
    assert f["ACK-RECU"] == (1, 1) and f["ACK-LU"] == (0, 1)
    # the next month does not see it: stays are dated by discharge
    april = compute.compute(hospital["est"], dt.date(2026, 4, 1), dt.date(2026, 4, 30), with_qls=False)
    assert april.stays == 0 and april.totals["SIGN-J0"].denominator == 0


def test_definitions_are_configurable(hospital, tmp_path):
    text = d.DEFAULT_PATH.read_text(encoding="utf-8").replace(
        'numerator: ["sign_delay <= 0"]', 'numerator: ["sign_delay <= 1"]'
    )
    path = tmp_path / "defs.yaml"
    path.write_text(text, encoding="utf-8")
    stay = hospital["stay"]
    Letter.objects.create(
        stay=stay,
        status="signed",
        signed_at=stay.discharge_at + dt.timedelta(days=1),
        signed_by=hospital["users"]["medecin"].practitioner,
    )
    period = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    default = compute.compute(hospital["est"], *period, with_qls=False)
    relaxed = compute.compute(hospital["est"], *period, d.load(path), with_qls=False)
    assert default.totals["SIGN-J0"].numerator == 0 and relaxed.totals["SIGN-J0"].numerator == 1
    with pytest.raises(d.DefinitionError):
        d.Predicate.parse("sign_delay <= x", d.STAY_FACTS)
    with pytest.raises(d.DefinitionError):
        d.Predicate.parse("mt_mss <= 1", d.STAY_FACTS)


def test_proofs_neutralise_formulas_in_names(est):
    """Formula injection: a name received by ADT as `=HYPERLINK(…)` comes out as text in CSV and XLSX."""
    defs = d.load()
    ind = defs.get("SIGN-J0")
    stay_id = exports.build(est, START, END, ind, defs, identified=True).stay_ids[0]
    patient = Stay.objects.get(pk=stay_id).patient
    patient.used_family_name = '=HYPERLINK("http://exemple.invalid","Voir")'
    patient.first_given_name = "@SOMME(A1)"
    patient.save()
    proof = exports.build(est, START, END, ind, defs, identified=True)
    text = exports.to_csv(proof)
    rows = list(csv.reader(io.StringIO(text.split("\n", len(proof.meta))[-1]), delimiter=";"))
    cells = [c for r in rows for c in r]
    assert "'" + patient.used_family_name in cells and "'@SOMME(A1)" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    wb = openpyxl.load_workbook(io.BytesIO(exports.to_xlsx(proof)))
    values = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in values if c.data_type == "f"]
    assert "'" + patient.used_family_name in {c.value for c in values}
