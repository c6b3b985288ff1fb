"""Reading and checking one HAS open-data file (XLSX or CSV) against its declared mapping.

`read_table(path)` gives the header and the raw rows; `parse(path, …)` checks every line and
returns either the establishments and results to store or the list of errors, each with its
line number (the spreadsheet's: the header is line 1) and a French reason. Nothing is partial:
one error and the caller stores nothing. Pure Python, no Django.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from python_calamine import CalamineWorkbook

from liaison.campaign.mapping import FileMapping, detect, mappings
from liaison.campaign.spreadsheet_limits import (
    SpreadsheetTooLarge,
    check_file_size,
    check_row_count,
    check_zipped_spreadsheet,
)
from liaison.core.identifiers import IdentifierError, validate_finess
from liaison.paths import opendata_dir


class ImportRefused(ValueError):
    """The file cannot be imported; `errors` lists every reason with its line."""

    def __init__(self, errors: list[LineError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors[:20]))


@dataclass(frozen=True)
class LineError:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"Ligne {self.line}" + (f", colonne « {self.column} »" if self.column else "")
        return f"{where} : {self.message}"


@dataclass(frozen=True)
class EstablishmentRow:
    finess_eg: str
    name: str
    finess_ej: str = ""
    name_ej: str = ""
    region: str = ""
    department: str = ""
    category: str = ""


@dataclass(frozen=True)
class ResultRow:
    finess_eg: str
    indicator: str
    value: float | None
    weight: int | None
    klass: str
    evolution: str


@dataclass
class ParsedFile:
    mapping: FileMapping
    year: int
    establishments: list[EstablishmentRow]
    results: list[ResultRow]
    warnings: list[str] = field(default_factory=list)
    source_rows: int = 0


MAX_ERRORS = 200


# --- FINESS ----------------------------------------------------------------------------------


def department_of(finess: str) -> str:
    """Department code from a FINESS number: 97x overseas ('9701…' → 971), 2A/2B, else 2 digits."""
    if finess.startswith("970"):
        return "97" + finess[3]
    return finess[:2]


@cache
def reference_finess() -> frozenset[str]:
    """FINESS (juridical and geographic) of the HAS certification list, when on this machine."""
    path = opendata_dir() / "ganebang-veltis" / "has_certification_etablissement_geo.csv"
    if not path.is_file():
        return frozenset()
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return frozenset(f for row in csv.DictReader(fh) for f in (row["FINESS_EJ"], row["FINESS_EG"]))


# --- raw reading ---------------------------------------------------------------------------


def _cell(v: object) -> str | float:
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int, float)):
        return float(v)
    return str(v).strip()


def read_table(path: Path, sheet: str | None = None) -> tuple[list[str], list[list[str | float]]]:
    """Header and rows of an XLSX (python-calamine) or CSV (`;` or `,`, UTF-8 or Latin-1) file."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm", ".xls", ".ods"):
            check_zipped_spreadsheet(path)
        else:
            check_file_size(path)
    except SpreadsheetTooLarge as exc:
        raise ImportRefused([LineError(0, "", str(exc))]) from exc
    if suffix in (".xlsx", ".xlsm", ".xls", ".ods"):
        try:
            wb = CalamineWorkbook.from_path(str(path))
        except Exception as exc:
            raise ImportRefused(
                [
                    LineError(
                        0,
                        "",
                        f"classeur illisible : ce n'est pas un fichier {suffix[1:].upper()} valide ({exc}).",
                    )
                ]
            ) from exc
        name = sheet if sheet in wb.sheet_names else wb.sheet_names[0]
        rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
    elif suffix in (".csv", ".txt"):
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        first = text.split("\n", 1)[0]
        delimiter = ";" if first.count(";") > first.count(",") else ","
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            rows = list(reader)
        except csv.Error as exc:  # a field over csv's limit (128 Kio), a NUL byte…
            raise ImportRefused(
                [
                    LineError(
                        reader.line_num, "", "ligne illisible : champ démesuré ou caractère nul, pas un CSV."
                    )
                ]
            ) from exc
    else:
        raise ImportRefused(
            [LineError(0, "", f"format « {suffix or '?'} » non pris en charge (XLSX ou CSV).")]
        )
    try:
        check_row_count(len(rows))  # a CSV (an XLSX was counted before it was read)
    except SpreadsheetTooLarge as exc:
        raise ImportRefused([LineError(0, "", str(exc))]) from exc
    rows = [[_cell(c) for c in r] for r in rows]
    while rows and not any(c != "" for c in rows[-1]):
        rows.pop()
    if not rows:
        raise ImportRefused([LineError(1, "", "fichier vide.")])
    header = [str(c).strip() for c in rows[0]]
    return header, rows[1:]


# --- checking ------------------------------------------------------------------------------


def _number(raw: str | float) -> float | None:
    if raw == "" or raw is None:
        return None
    if isinstance(raw, float):
        return raw
    text = raw.replace("\u202f", "").replace(" ", "").replace(",", ".")
    if text.upper() in ("NA", "NAN", "."):
        return None
    return float(text)  # ValueError → reported by the caller


def _text(raw: str | float) -> str:
    if isinstance(raw, float):
        return str(int(raw)) if raw.is_integer() else str(raw)
    return raw


def parse(path: Path, year: int | None = None, family: str | None = None) -> ParsedFile:
    """Check every line of `path`; raise `ImportRefused` with every error, or return the file."""
    sheet = mappings()[family].sheet if family and family in mappings() else None
    if family is None:
        # The sheet name comes from the mapping; read once with the first sheet to detect it.
        header0, rows = read_table(path)
        mapping = detect(header0)
        if mapping and mapping.sheet:
            header0, rows = read_table(path, mapping.sheet)
            mapping = detect(header0) or mapping
    else:
        if family not in mappings():
            known = ", ".join(sorted(mappings()))
            raise ImportRefused([LineError(0, "", f"famille de fichier « {family} » inconnue ({known}).")])
        mapping = mappings()[family]
        header0, rows = read_table(path, sheet)
    if mapping is None:
        known = ", ".join(f"{m.family} ({', '.join(m.signature)})" for m in mappings().values())
        raise ImportRefused(
            [LineError(1, "", f"en-tête non reconnu : aucune famille déclarée ne correspond ({known}).")]
        )
    if year is None:
        year = mapping.year_from_name(path.name)
    if year is None:
        raise ImportRefused([LineError(0, "", "année de recueil introuvable dans le nom : précisez --year.")])
    errors: list[LineError] = []
    index: dict[str, int] = {}
    for i, name in enumerate(header0):
        if name in index:
            errors.append(LineError(1, name, "colonne en double."))
        index[name] = i
    known = mapping.known_columns()
    for name in header0:
        if name and name not in known:
            errors.append(
                LineError(
                    1,
                    name,
                    f"colonne inconnue : absente de la table de correspondance « {mapping.family} » "
                    f"({mapping.source_file}).",
                )
            )
        elif not name:
            errors.append(LineError(1, "", "colonne sans nom."))
    for name in mapping.required_columns():
        if name not in index:
            errors.append(LineError(1, name, "colonne attendue absente du fichier."))
    if errors:
        raise ImportRefused(errors)

    est_cols = mapping.establishment
    ref = reference_finess()
    establishments: list[EstablishmentRow] = []
    results: list[ResultRow] = []
    seen: dict[str, int] = {}
    unknown_in_ref = 0
    valid_classes = set(mapping.classes.valid)

    def get(row: list[str | float], col: str | None) -> str | float:
        if not col:
            return ""
        i = index[col]
        return row[i] if i < len(row) else ""

    for n, row in enumerate(rows, start=2):
        if len(errors) >= MAX_ERRORS:
            break
        if not any(c != "" for c in row):
            continue
        line_errors: list[LineError] = []
        finess: dict[str, str] = {}
        for key in ("finess_eg", "finess_ej"):
            col = getattr(est_cols, key)
            if not col:
                continue
            raw = _text(get(row, col)).zfill(9) if isinstance(get(row, col), float) else _text(get(row, col))
            if not raw:
                if key == "finess_eg":
                    line_errors.append(LineError(n, col, "numéro FINESS absent."))
                continue
            try:
                finess[key] = validate_finess(raw)
            except IdentifierError as exc:
                line_errors.append(LineError(n, col, f"FINESS inexistant — {exc}"))
        eg = finess.get("finess_eg", "")
        if eg:
            if eg in seen:
                line_errors.append(
                    LineError(n, est_cols.finess_eg, f"FINESS {eg} déjà présent ligne {seen[eg]}.")
                )
            seen[eg] = n
            if ref and eg not in ref:
                unknown_in_ref += 1
        name = _text(get(row, est_cols.name_eg))
        if not name:
            line_errors.append(LineError(n, est_cols.name_eg, "raison sociale absente."))
        for ind in mapping.indicators:
            value = weight = None
            try:
                value = _number(get(row, ind.value))
            except ValueError:
                line_errors.append(
                    LineError(n, ind.value, f"valeur non numérique « {get(row, ind.value)} ».")
                )
            lo, hi = ind.range
            if value is not None and (math.isnan(value) or not lo <= value <= hi):
                line_errors.append(
                    LineError(n, ind.value, f"valeur {value:g} hors de l'intervalle [{lo:g} ; {hi:g}].")
                )
            if ind.weight:
                try:
                    w = _number(get(row, ind.weight))
                    if w is not None and (w < 0 or not float(w).is_integer()):
                        raise ValueError
                    weight = int(w) if w is not None else None
                except ValueError:
                    line_errors.append(
                        LineError(
                            n, ind.weight, f"effectif « {get(row, ind.weight)} » : entier positif attendu."
                        )
                    )
                if value is not None and weight in (None, 0):
                    line_errors.append(LineError(n, ind.weight, "effectif absent pour une valeur publiée."))
            else:
                weight = 1 if value is not None else None
            klass = _text(get(row, ind.class_)).upper() if ind.class_ else ""
            if klass and klass not in valid_classes:
                line_errors.append(
                    LineError(
                        n,
                        ind.class_ or "",
                        f"classe « {klass} » inconnue ({', '.join(mapping.classes.valid)}).",
                    )
                )
            evolution_raw = _text(get(row, ind.evolution)) if ind.evolution else ""
            evolution = ""
            if evolution_raw:
                if evolution_raw not in mapping.evolutions:
                    line_errors.append(
                        LineError(n, ind.evolution or "", f"évolution « {evolution_raw} » inconnue.")
                    )
                else:
                    evolution = mapping.evolutions[evolution_raw]
            if eg and (value is not None or klass):
                results.append(ResultRow(eg, ind.code, value, weight, klass, evolution))
        if line_errors:
            errors.extend(line_errors)
            continue
        establishments.append(
            EstablishmentRow(
                finess_eg=eg,
                name=name,
                finess_ej=finess.get("finess_ej", ""),
                name_ej=_text(get(row, est_cols.name_ej)),
                region=_text(get(row, est_cols.region)),
                department=_text(get(row, est_cols.department)) or department_of(eg),
                category=_text(get(row, est_cols.category)),
            )
        )
    if errors:
        raise ImportRefused(errors)
    warnings = []
    if unknown_in_ref:
        warnings.append(
            f"{unknown_in_ref} FINESS géographiques absents de la liste des sites certifiés HAS "
            "(information : cette liste n'est pas le répertoire FINESS complet)."
        )
    return ParsedFile(mapping, year, establishments, results, warnings, source_rows=len(establishments))
