"""`liaison digital-indicators` on rows written in the database: D2.2I and D6.3I of one calendar
month recomputed by hand, the 2026 rate equal to the establishment page's DMP figure (one name,
one figure), the oSIS CSV, and French refusals."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.management import CommandError, call_command

from liaison.delivery.models import Delivery
from liaison.indicators import compute
from liaison.letters.models import Correspondent, Letter, Patient, Stay
from tests.conftest import paris, valid_rpps

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def _letter(stay: Stay, doctor) -> Letter:
    return Letter.objects.create(stay=stay, status="signed", signed_at=stay.discharge_at, signed_by=doctor)


def _send(letter: Letter, channel: str, state: str, address: str, role: str, name: str = "") -> None:
    Delivery.objects.create(
        letter=letter,
        channel=channel,
        recipient_role=role,
        recipient_name=name,
        recipient_address=address,
        state=state,
        next_attempt_at=letter.signed_at,
        sent_at=letter.signed_at if state != "pending" else None,
    )


@pytest.fixture
def month(hospital):
    """October 2024: four stays of two patients, and one stay discharged 1 Nov 00:30 Paris."""
    est, doctor, p1, gp = (
        hospital["est"],
        hospital["users"]["medecin"].practitioner,
        hospital["patient"],
        hospital["gp"],
    )
    p2 = Patient.objects.create(
        establishment=est,
        ipp="IPP002",
        birth_family_name="MARTIN",
        first_given_name="Paul",
        birth_date=dt.date(1950, 1, 1),
        sex="M",
    )
    ehpad = Correspondent.objects.create(kind="structure", organisation="EHPAD Les Tilleuls")
    adr = Correspondent.objects.create(
        rpps=valid_rpps(901), family_name="Adresseur", mssante="adr@chu.mssante.fr"
    )

    def mk(nda: str, patient: Patient, when: dt.datetime, **kw) -> Stay:
        return Stay.objects.create(
            establishment=est,
            patient=patient,
            unit=hospital["cardio"],
            visit_number=nda,
            sector="MCO",
            admission_at=when - dt.timedelta(days=3),
            discharge_at=when,
            exit_mode="domicile",
            responsible_physician=doctor,
            **kw,
        )

    hospital["stay"].delete()
    s1 = mk("S1", p1, paris(2024, 10, 1, 0, 10), adresseur=adr)  # first minutes of the month
    s2 = mk("S2", p1, paris(2024, 10, 15))
    s3 = mk("S3", p2, dt.datetime(2024, 10, 31, 22, 30, tzinfo=UTC), receiving_structure=ehpad)  # 23:30 Paris
    s4 = mk("S4", p2, dt.datetime(2024, 10, 31, 23, 30, tzinfo=UTC))  # 1 Nov 00:30 Paris: November
    l1, l2, l3, l4 = (_letter(s, doctor) for s in (s1, s2, s3, s4))
    _send(l1, "dmp", "delivered", p1.ins_matricule, "dmp")  # p1 has a DMP
    _send(l2, "dmp", "failed", p1.ins_matricule, "dmp")  # refused this time
    _send(l3, "dmp", "given_up", "p2", "dmp")  # p2: no DMP attested
    _send(l4, "dmp", "delivered", "p2", "dmp")  # November (and attests p2's DMP)
    _send(l1, "mssante", "read", gp.mssante, "medecin_traitant", str(gp))
    _send(l2, "mssante", "given_up", gp.mssante, "medecin_traitant", str(gp))
    _send(l1, "mssante", "failed", adr.mssante, "adresseur", str(adr))
    return hospital


def _json(*args: str) -> dict:
    import io

    out = io.StringIO()
    call_command("digital_indicators", *args, "--format", "json", stdout=out)
    return json.loads(out.getvalue())


def test_d22i_d63i_from_the_database(month):
    data = _json("--year", "2024", "--month", "2024-10")
    dmp, mss = data["indicators"]
    assert (dmp["id"], mss["id"]) == ("D2.2I", "D6.3I")
    # S1 S2 S3 in October; p2's DMP is attested by S4's filing (November), so S3 is in the
    # denominator too; only S1's letter was accepted
    assert (dmp["numerator"], dmp["denominator"], dmp["total_stays"]) == (1, 3, 3)
    assert [r["Séjour"] for r in dmp["list"]] == ["S1", "S2", "S3"]
    assert all(r["Patient"] not in ("IPP001", "IPP002") for r in dmp["list"])  # pseudonymised
    # correspondents: the GP (read), the adresseur (failed), the EHPAD (no address)
    assert (mss["numerator"], mss["denominator"]) == (1, 2)
    assert {r["Correspondant"]: r["Au dénominateur"] for r in mss["list"]}["EHPAD Les Tilleuls"] == "non"
    assert dmp["ifaq_target"] == 0.20 and mss["ifaq_target"] == 0.50
    ours = {i["id"]: i for i in data["liaison_indicators"]}
    assert set(ours) == {"DMP", "DMP-ELIG", "MSS-PS"}
    assert ours["DMP"]["status_fr"].startswith("choix de Liaison")


def test_2026_rate_is_the_dmp_figure_of_the_indicators(month):
    data = _json("--year", "2026", "--month", "2024-10")
    (rate,) = data["indicators"]
    assert (rate["id"], rate["numerator"], rate["denominator"]) == ("DMP-LLS", 1, 3)
    fig = compute.compute(month["est"], dt.date(2024, 10, 1), dt.date(2024, 10, 31), with_qls=False).totals[
        "DMP"
    ]
    assert (fig.numerator, fig.denominator) == (rate["numerator"], rate["denominator"])
    assert rate["same_as"] == "DMP"


def test_osis_csv_and_identities(month, tmp_path):
    out = tmp_path / "d22i.csv"
    call_command(
        "digital_indicators",
        "--year",
        "2023",
        "--month",
        "2024-10",
        "--format",
        "csv",
        "--indicator",
        "d2.2i",
        "--out",
        str(out),
        "--identities",
    )
    text = out.read_text(encoding="utf-8")
    assert "# Numérateur : 1\n" in text and "# Dénominateur : 3\n" in text
    assert "# Nombre total de séjours de la période : 3\n" in text and "# Cible HOP'EN : 64,0 %\n" in text
    assert "IPP001" in text and "IPP002" in text


def test_table_and_refusals_in_french(month):
    import io

    out = io.StringIO()
    call_command("digital_indicators", "--year", "2022", "--month", "2024-10", stdout=out)
    assert (
        "D2.2I" in out.getvalue() and "33,3 %" in out.getvalue() and "indicateur de Liaison" in out.getvalue()
    )
    for args, msg in (
        (["--year", "2019", "--month", "2024-10"], "Année sans définition"),
        (["--year", "2024", "--month", "octobre"], "Mois illisible"),
        (["--year", "2024", "--month", "2024-10", "--format", "csv"], "précisez --indicator"),
        (["--year", "2024", "--month", "2024-10", "--indicator", "X"], "Indicateur inconnu pour 2024"),
    ):
        with pytest.raises(CommandError, match=msg):
            call_command("digital_indicators", *args, stdout=io.StringIO())
