"""Import of the HAS open data: both e-Satis SMR years, independent recomputation, bad input."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from liaison.campaign import services
from liaison.campaign.models import Establishment, ImportBatch, Result
from liaison.campaign.reader import ImportRefused, department_of, parse
from liaison.core.identifiers import validate_finess
from tests.campaign.conftest import ROWS


def test_both_years_import_with_the_manifest_counts(imported):
    for year, batch in imported.items():
        assert batch.rows == ROWS[year] and batch.year == year and batch.family == "esatis-ssr"
        assert Result.objects.filter(indicator__code="ESATIS_SMR_GLOBAL", year=year).count() == ROWS[year]
    classes = Counter(
        Result.objects.filter(indicator__code="ESATIS_SMR_GLOBAL", year=2023).values_list("klass", flat=True)
    )
    assert classes == {"DI": 814, "A": 172, "B": 132, "C": 80, "D": 36, "NV": 31, "NR": 3}
    both = Establishment.objects.filter(results__year=2023).filter(results__year=2024).distinct().count()
    assert both == 1183  # MANIFEST: finess_geo in both years
    corsica = Establishment.objects.get(finess_eg="2A0023271")
    assert corsica.department == "2A" and corsica.region == "Corse"
    assert Establishment.objects.get(finess_eg="970400024").department == "974"


def test_reimport_replaces_the_year(imported, esatis_files):
    services.import_file(esatis_files[2024])
    assert Result.objects.filter(indicator__code="ESATIS_SMR_GLOBAL", year=2024).count() == ROWS[2024]
    assert ImportBatch.objects.filter(year=2024).count() == 2


def _independent_national_mean(path: Path) -> tuple[float, int]:
    """openpyxl + polars: another reader and another arithmetic than the implementation's."""
    ws = openpyxl.load_workbook(path, read_only=True)["Resultats"]
    rows = list(ws.iter_rows(values_only=True))
    df = pl.DataFrame(
        [list(r) for r in rows[1:]], schema=[str(c) for c in rows[0]], orient="row", infer_schema_length=None
    )
    df = df.select(
        pl.col("score_ALL_ssr_ajust").cast(pl.Utf8).replace("", None).cast(pl.Float64).alias("v"),
        pl.col("nb_rep_score_ALL_ssr_ajust").cast(pl.Utf8).replace("", None).cast(pl.Float64).alias("w"),
    ).drop_nulls()
    return float((df["v"] * df["w"]).sum() / df["w"].sum()), df.height


@pytest.mark.parametrize("year", [2023, 2024])
def test_national_weighted_mean_recomputed_independently(imported, esatis_files, year):
    expected, n = _independent_national_mean(esatis_files[year])
    f = services.figures("ESATIS_SMR_GLOBAL", year)
    assert f.national.n_valued == n
    assert f.national.weighted_mean == pytest.approx(expected, abs=1e-9)
    # the quartiles, by polars' own quantile (linear interpolation)
    values = pl.Series(
        [
            r.value
            for r in Result.objects.filter(
                indicator__code="ESATIS_SMR_GLOBAL", year=year, value__isnull=False
            )
        ]
    )
    assert f.national.median == pytest.approx(values.quantile(0.5, "linear"))
    assert f.national.q1 == pytest.approx(values.quantile(0.25, "linear"))


def test_regional_simple_means_match_those_published_by_has(imported, esatis_files):
    """HAS's SCORE_AJUST_ESATIS_REGION is the simple mean of the region's scores: ours agree."""
    ws = openpyxl.load_workbook(esatis_files[2023], read_only=True)["Resultats"]
    rows = list(ws.iter_rows(values_only=True))
    i = {c: k for k, c in enumerate(rows[0])}
    published = {
        r[i["region"]]: float(r[i["SCORE_AJUST_ESATIS_REGION"]])
        for r in rows[1:]
        if r[i["SCORE_AJUST_ESATIS_REGION"]] not in (None, "")
    }
    f = services.figures("ESATIS_SMR_GLOBAL", 2023)
    assert len(published) >= 14
    for region, value in published.items():
        assert f.regions[region].mean == pytest.approx(value, abs=0.006), region
    sat = f.national
    assert sat.share_satisfactory == pytest.approx(172 / 420)


def test_finess_rules():
    assert validate_finess("2A0000014") == "2A0000014"  # Corsica: 2A → 21 for the key
    assert department_of("970100020") == "971" and department_of("2B0000012") == "2B"
    with pytest.raises(ValueError):
        validate_finess("010000033")


def _csv_copy(path: Path, tmp_path: Path, edit) -> Path:
    ws = openpyxl.load_workbook(path, read_only=True)["Resultats"]
    rows = [["" if c is None else c for c in r] for r in ws.iter_rows(values_only=True)]
    edit(rows)
    out = tmp_path / "resultats-recueil2024.csv"
    buf = io.StringIO()
    csv.writer(buf, delimiter=";").writerows(rows)
    out.write_text(buf.getvalue(), encoding="utf-8")
    return out


def test_csv_copy_imports_like_the_xlsx(db, esatis_files, tmp_path):
    batch = services.import_file(_csv_copy(esatis_files[2024], tmp_path, lambda rows: None))
    assert batch.rows == ROWS[2024] and batch.year == 2024


def _refused(path: Path) -> list[str]:
    with pytest.raises(ImportRefused) as exc:
        services.import_file(path)
    assert (
        not Result.objects.exists()
        and not Establishment.objects.exists()
        and not ImportBatch.objects.exists()
    )
    return [str(e) for e in exc.value.errors]


def test_unknown_column_is_refused(db, esatis_files, tmp_path):
    def edit(rows):
        rows[0].append("colonne_mystere")
        for r in rows[1:]:
            r.append("x")

    errors = _refused(_csv_copy(esatis_files[2024], tmp_path, edit))
    assert errors == [
        "Ligne 1, colonne « colonne_mystere » : colonne inconnue : absente de la table de correspondance "
        "« esatis-ssr » (esatis_ssr.yaml)."
    ]


def test_bad_finess_and_out_of_range_value_are_reported_by_line(db, esatis_files, tmp_path):
    def edit(rows):
        rows[3][2] = "010000199"  # finess_geo, wrong Luhn key
        rows[5][9] = "123.4"  # score_ALL_ssr_ajust
        rows[7][10] = "Z"  # classement

    errors = _refused(_csv_copy(esatis_files[2024], tmp_path, edit))
    assert errors[0].startswith(
        "Ligne 4, colonne « finess_geo » : FINESS inexistant — La clé du numéro FINESS 010000199"
    )
    assert "Ligne 6, colonne « score_ALL_ssr_ajust » : valeur 123.4 hors de l'intervalle [0 ; 100]." in errors
    assert any(e.startswith("Ligne 8, colonne « classement » : classe « Z » inconnue") for e in errors)
    assert len(errors) == 3


def test_missing_column_and_unknown_header(db, esatis_files, tmp_path):
    def drop(rows):
        for r in rows:
            del r[9]

    errors = _refused(_csv_copy(esatis_files[2024], tmp_path, drop))
    assert any("score_ALL_ssr_ajust" in e for e in errors)
    other = tmp_path / "autre-2024.csv"
    other.write_text("a;b\n1;2\n", encoding="utf-8")
    with pytest.raises(ImportRefused) as exc:
        parse(other, 2024)
    assert "en-tête non reconnu" in str(exc.value)


def test_year_is_required_when_not_in_the_name(db, esatis_files, tmp_path):
    path = _csv_copy(esatis_files[2024], tmp_path, lambda rows: None).rename(tmp_path / "fichier.csv")
    with pytest.raises(ImportRefused, match="précisez --year"):
        parse(path)
    assert parse(path, 2024).year == 2024
