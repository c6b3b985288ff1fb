"""Digital indicators by the definition of each year, recomputed by hand from raw rows: D2.2I
(patients without a DMP out, documents outside the CME list not counted), D6.3I (correspondents
without an MSSanté address out of the denominator, one correspondent counted once), the 2026
DMP feeding rate, Europe/Paris month boundaries, and the oSIS CSV."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io

import pytest

from liaison.indicators import digital as g

UTC = dt.UTC
SCOPE = g.Scope(
    dt.date(2024, 10, 1), dt.date(2024, 10, 31), frozenset({"MCO", "CA", "SMR", "HAD"}), frozenset({"deces"})
)
CONFIG = g.load()


def at(y: int, m: int, d: int, h: int = 12, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=g.PARIS)


def stay(sid: str, when: dt.datetime, has_dmp: bool | None = True, **kw) -> g.StayRow:
    return g.StayRow(
        sid, f"P-{sid}", kw.pop("unit", "Cardiologie"), kw.pop("sector", "MCO"), when, has_dmp=has_dmp, **kw
    )


def lls(sid: str, ok: bool = True) -> g.DmpFiling:
    return g.DmpFiling(sid, "11490-0", at(2024, 10, 20) if ok else None)


STAYS = [
    stay("A", at(2024, 10, 3)),  # DMP, LLS accepted → numerator
    stay("B", at(2024, 10, 4)),  # DMP, only a document outside the CME list → denominator only
    stay("C", at(2024, 10, 5), has_dmp=None),  # DMP not known → out of the denominator
    stay("D", at(2024, 10, 6)),  # DMP, LLS sent but refused → denominator only
    stay("E", dt.datetime(2024, 10, 31, 22, 30, tzinfo=UTC)),  # 31 Oct 23:30 Paris → in
    stay("F", dt.datetime(2024, 10, 31, 23, 30, tzinfo=UTC)),  # 1 Nov 00:30 Paris → out
    stay("G", dt.datetime(2024, 9, 30, 21, 59, tzinfo=UTC)),  # 30 Sep 23:59 Paris → out
    stay("H", dt.datetime(2024, 9, 30, 22, 0, tzinfo=UTC)),  # 1 Oct 00:00 Paris → in
    stay("I", at(2024, 10, 7), exit_mode="deces"),  # death → out
    stay("J", at(2024, 10, 8), cancelled=True),  # cancelled → out
    stay("K", at(2024, 10, 9), sector="PSY"),  # outside the perimeter → out
    stay("L", at(2024, 10, 10), has_dmp=False),  # no DMP → out of the denominator
]
FILINGS = [
    lls("A"),
    g.DmpFiling("B", "11488-4", at(2024, 10, 5)),  # compte rendu de consultation: not in the list
    lls("C"),
    lls("D", ok=False),
    lls("E"),
    lls("F"),
    lls("G"),
    lls("L"),
]


def test_each_year_has_its_definition_and_source():
    for year in (2022, 2023, 2024, 2025):
        ids = [x.id for x in CONFIG.definitions(year)]
        assert ids == ["D2.2I", "D6.3I"]
        dmp, mss = CONFIG.definitions(year)
        assert (dmp.ifaq_target, mss.ifaq_target, mss.hopen_target) == (0.20, 0.50, 0.60)
        assert "DGOS" in dmp.source and "13 décembre 2022" in dmp.source
    assert CONFIG.definitions(2022)[0].hopen_target == 0.50
    assert CONFIG.definitions(2023)[0].hopen_target == 0.64
    assert "valeur maximale" in CONFIG.note(2025)
    (y2026,) = CONFIG.definitions(2026)
    assert y2026.id == "DMP-LLS" and y2026.status == "our_choice" and "15 janvier 2026" in y2026.source
    assert y2026.same_as == "DMP"
    with pytest.raises(g.DigitalError, match="Année sans définition.*2021"):
        CONFIG.definitions(2021)


def test_month_is_parsed_or_refused_in_french():
    assert g.parse_month("2024-02") == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    for bad in ("2024-13", "10/2024", "2024-1", ""):
        with pytest.raises(g.DigitalError, match="Mois illisible"):
            g.parse_month(bad)


def test_d22i_recomputed_by_hand():
    (dmp, _mss) = g.compute(CONFIG, 2024, SCOPE, g.Rows(STAYS, FILINGS))
    # in scope: A B C D E H L (F, G by the Paris month; I death; J cancelled; K PSY)
    assert dmp.total_stays == 7
    # denominator: DMP known → A B D E H ; numerator: a CME document accepted → A E
    assert (dmp.numerator, dmp.denominator) == (2, 5)
    assert dmp.value == pytest.approx(0.4)
    listed = {r[0]: r for r in dmp.rows}
    assert set(listed) == {"A", "B", "C", "D", "E", "H", "L"}
    assert listed["B"][-2:] == ["oui", "non"] and listed["B"][5] == "11488-4"
    assert listed["C"][4] == "inconnu" and listed["C"][-2:] == ["non", "non"]
    assert listed["L"][4] == "non" and listed["L"][-2:] == ["non", "non"]
    assert listed["D"][-2:] == ["oui", "non"]
    assert listed["E"][3] == "2024-10-31" and listed["H"][3] == "2024-10-01"
    assert any("1 séjour(s) « DMP non attesté »" in n for n in dmp.notes)


def test_the_cme_list_is_configuration():
    wider = dataclasses.replace(CONFIG, cme_codes={"11490-0": "LLS", "11488-4": "CR de consultation"})
    (dmp, _mss) = g.compute(wider, 2024, SCOPE, g.Rows(STAYS, FILINGS))
    assert (dmp.numerator, dmp.denominator) == (3, 5)  # B now counts
    narrower = dataclasses.replace(CONFIG, cme_codes={"11488-4": "CR de consultation"})
    (dmp, _mss) = g.compute(narrower, 2024, SCOPE, g.Rows(STAYS, FILINGS))
    assert (dmp.numerator, dmp.denominator) == (1, 5)  # the liaison letter is not on that list


def test_d63i_recomputed_by_hand():
    gp = "anne.generaliste@medecin.mssante.fr"
    addressees = [
        g.Addressee("A", "rpps:1", "Dr Anne Généraliste", gp),
        g.Addressee("B", "rpps:1", "Dr Anne Généraliste", gp.upper()),  # same person, second stay
        g.Addressee("A", "rpps:2", "Dr Paul Adresseur", "paul@chu.mssante.fr"),  # never received
        g.Addressee("D", "finess:3", "EHPAD Les Tilleuls", ""),  # no MSSanté address → excluded
        g.Addressee("F", "rpps:4", "Dr Hors Mois", "hors@mssante.fr"),  # stay of November
    ]
    sendings = [
        g.MssSending("A", gp, "Dr Anne Généraliste", "medecin_traitant", True),
        g.MssSending("B", gp, "Dr Anne Généraliste", "medecin_traitant", False),
        g.MssSending("D", "cardio@autre.mssante.fr", "Dr Cardio", "autre", False),  # failed only
        g.MssSending("E", "kine@mssante.fr", "M. Kiné", "autre", True),  # typed recipient, received
        g.MssSending("A", "123@patient.mssante.fr", "Patient", "patient", True),  # not a correspondent
        g.MssSending("F", "hors@mssante.fr", "Dr Hors Mois", "adresseur", True),  # out of the month
    ]
    (_dmp, mss) = g.compute(CONFIG, 2024, SCOPE, g.Rows(STAYS, FILINGS, addressees, sendings))
    # correspondents: Anne (received), Paul (not), Cardio (failed), Kiné (received), EHPAD (no address)
    assert (mss.numerator, mss.denominator) == (2, 4)
    assert mss.value == pytest.approx(0.5) and mss.unit == "correspondants"
    by_name = {r[0]: r for r in mss.rows}
    assert set(by_name) == {
        "Dr Anne Généraliste",
        "Dr Paul Adresseur",
        "Dr Cardio",
        "M. Kiné",
        "EHPAD Les Tilleuls",
    }
    assert by_name["Dr Anne Généraliste"][2:] == [2, 1, "oui", "oui"]
    assert by_name["EHPAD Les Tilleuls"][-2:] == ["non", "non"]
    assert by_name["Dr Cardio"][-2:] == ["oui", "non"]


def test_2026_dmp_feeding_rate_counts_every_stay():
    (rate,) = g.compute(CONFIG, 2026, SCOPE, g.Rows(STAYS, FILINGS))
    # denominator: every in-scope stay A B C D E H L ; numerator: LLS accepted → A C E L
    assert (rate.numerator, rate.denominator, rate.total_stays) == (4, 7, 7)


def test_oSIS_csv_holds_the_declaration_and_the_exhaustive_list():
    stays = [*STAYS, stay("=HYPERLINK(1)", at(2024, 10, 12))]
    (dmp, _mss) = g.compute(CONFIG, 2024, SCOPE, g.Rows(stays, FILINGS))
    text = g.to_csv(dmp, "CH de Test (FINESS 450000028)")
    head = [line for line in text.splitlines() if line.startswith("# ")]
    fields = dict(line[2:].split(" : ", 1) for line in head)
    assert fields["Numérateur"] == "2" and fields["Dénominateur"] == "6"
    assert fields["Résultat"] == "33,3 %" and fields["Nombre total de séjours de la période"] == "8"
    assert fields["Cible IFAQ"] == "20,0 %" and fields["Cible HOP'EN"] == "64,0 %"
    assert fields["Période"].startswith("du 01/10/2024 au 31/10/2024")
    assert "DMP non attesté" in fields["Méthode"] and "DGOS" in fields["Source"]
    body = list(
        csv.reader(
            io.StringIO("\n".join(x for x in text.splitlines() if not x.startswith("# "))), delimiter=";"
        )
    )
    assert body[0][-2:] == ["Au dénominateur", "Au numérateur"]
    assert len(body) - 1 == dmp.total_stays
    assert sum(r[-1] == "oui" for r in body[1:]) == 2 and sum(r[-2] == "oui" for r in body[1:]) == 6
    assert [r[0] for r in body[1:] if "HYPERLINK" in r[0]] == ["'=HYPERLINK(1)"]


def test_naive_datetime_is_refused():
    naive = g.StayRow("N", "P", "U", "MCO", dt.datetime(2024, 10, 3, 12))
    with pytest.raises(g.DigitalError, match="sans fuseau"):
        g.compute(CONFIG, 2024, SCOPE, g.Rows([naive]))
