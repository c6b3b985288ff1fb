"""IFAQ simulation of a set of establishments read from a CSV file (`liaison ifaq`). Pure Python.

One row per establishment and indicator: `finess, group, ve, indicator, result, previous_result`
and optionally `target` (overrides the year's target), plus, to place an establishment in its
SSR / PSY group from its activity instead of naming the group, `stays`, `gn_80`, `active_file`,
`sectorised`, `full_time`. Rates are fractions (0.72) or percentages (72 or 72 %): a file where
some rate without « % » exceeds 1 is read in percent throughout, and refused when it also holds
a bare rate between 0 and 1 (ambiguous). `NR` / `NV` / empty result =
not paid. The threshold of each group and indicator is computed from the file's establishments
(ifaq.model_a). The output rows are plain dicts: the JSON of the command.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from liaison.indicators import ifaq, ifaq_groups

REQUIRED = ("finess", "group", "ve", "indicator", "result", "previous_result")
OPTIONAL = ("target", "stays", "gn_80", "active_file", "sectorised", "full_time")
MAX_BYTES = 5_000_000
MAX_ROWS = 100_000
DIGITAL = "numerique"
TOTAL = "total"
ROUND_TO = 1000  # amounts resting on an unknown unit value are rounded to the thousand euros


@dataclass(frozen=True)
class Row:
    line: int
    finess: str
    group: str
    group_reason: str
    ve: float | None
    indicator: str
    result: ifaq.Result


def _number(raw: str, where: str) -> tuple[float, bool]:
    v = raw.strip().replace("\u202f", "").replace(" ", "").replace(",", ".")
    is_pct = v.endswith("%")
    try:
        x = float(v.rstrip("%"))
    except ValueError:
        raise ifaq.IfaqError(f"{where} : nombre invalide {raw!r}.") from None
    if x != x or x in (float("inf"), float("-inf")):
        raise ifaq.IfaqError(f"{where} : nombre invalide {raw!r}.")
    return x, is_pct


def _flag(raw: str, where: str) -> bool | None:
    v = raw.strip().lower()
    if not v:
        return None
    if v in ("1", "oui", "o", "yes", "true", "vrai"):
        return True
    if v in ("0", "non", "n", "no", "false", "faux"):
        return False
    raise ifaq.IfaqError(f"{where} : attendu oui / non, reçu {raw!r}.")


def _int(raw: str, where: str) -> int | None:
    if not raw.strip():
        return None
    x, _ = _number(raw, where)
    if x < 0 or x != int(x):
        raise ifaq.IfaqError(f"{where} : entier positif attendu, reçu {raw!r}.")
    return int(x)


def read(text: str) -> list[Row]:
    """The rows of the file, validated; IfaqError (French, with the line) on the first problem."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise ifaq.IfaqError(f"Fichier trop volumineux (plus de {MAX_BYTES // 1_000_000} Mo).")
    text = text.lstrip("\ufeff")
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ifaq.IfaqError(
            f"Colonnes manquantes : {', '.join(missing)} (attendues : {', '.join(REQUIRED)})."
        )
    unknown = [h for h in header if h not in REQUIRED + OPTIONAL]
    if unknown:
        raise ifaq.IfaqError(f"Colonnes inconnues : {', '.join(unknown)}.")
    reader.fieldnames = header
    raw_rows: list[tuple[int, dict[str, str]]] = []
    for n, rec in enumerate(reader, start=2):
        if n - 1 > MAX_ROWS:
            raise ifaq.IfaqError(f"Trop de lignes (plus de {MAX_ROWS}).")
        if None in rec:
            raise ifaq.IfaqError(f"Ligne {n} : trop de colonnes.")
        rec = {k: (v or "").strip() for k, v in rec.items()}
        if any(rec.values()):
            raw_rows.append((n, rec))
    if not raw_rows:
        raise ifaq.IfaqError("Le fichier ne contient aucune ligne de résultat.")
    # percent or fractions, decided once for the whole file
    rates = [
        _number(rec[c], f"Ligne {n}, {c}")
        for n, rec in raw_rows
        for c in ("result", "previous_result", "target")
        if rec.get(c) and rec[c].upper() not in ("NR", "NV")
    ]
    bare = [x for x, is_pct in rates if not is_pct]
    in_percent = any(x > 1 for x in bare)
    if in_percent and any(0 < x < 1 for x in bare):
        raise ifaq.IfaqError(
            "Taux ambigus : le fichier mêle des fractions (0,72) et des pourcentages (72) ; "
            "écrivez les pourcentages avec « % » ou tous les taux de la même façon."
        )
    rows: list[Row] = []
    seen: set[tuple[str, str]] = set()
    per_est: dict[str, tuple[str, float | None]] = {}
    for n, rec in raw_rows:
        rows.append(_row(n, rec, in_percent))
        r = rows[-1]
        if (r.finess, r.indicator) in seen:
            raise ifaq.IfaqError(f"Ligne {n} : l'indicateur {r.indicator} de {r.finess} figure deux fois.")
        seen.add((r.finess, r.indicator))
        if per_est.setdefault(r.finess, (r.group, r.ve)) != (r.group, r.ve):
            raise ifaq.IfaqError(f"Ligne {n} : groupe ou ve de {r.finess} différent de ses autres lignes.")
    return rows


def _rate(raw: str, where: str, in_percent: bool) -> float:
    x, is_pct = _number(raw, where)
    x = x / 100 if (is_pct or in_percent) else x
    if not 0 <= x <= 1:
        raise ifaq.IfaqError(f"{where} : taux hors de [0 ; 100 %] : {raw!r}.")
    return x


def _row(n: int, rec: dict[str, str], in_percent: bool) -> Row:
    where = f"Ligne {n}"
    finess = re.sub(r"\s", "", rec["finess"]).upper()
    if not re.fullmatch(r"(2[AB]|[0-9]{2})[0-9]{7}", finess):
        raise ifaq.IfaqError(
            f"{where} : le numéro FINESS doit comporter 9 caractères ; reçu {rec['finess']!r}."
        )
    indicator = rec["indicator"].lower()
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", indicator) or indicator in (DIGITAL, TOTAL):
        raise ifaq.IfaqError(f"{where} : identifiant d'indicateur invalide {rec['indicator']!r}.")
    group = ifaq_groups.normalise(rec["group"])
    reason = "groupe indiqué dans le fichier"
    if group in ifaq_groups.FIELDS.values():
        activity = ifaq_groups.Activity(
            group,
            stays=_int(rec.get("stays", ""), f"{where}, stays"),
            gn_for_80=_int(rec.get("gn_80", ""), f"{where}, gn_80"),
            active_file=_int(rec.get("active_file", ""), f"{where}, active_file"),
            sectorised=_flag(rec.get("sectorised", ""), f"{where}, sectorised"),
            full_time=_flag(rec.get("full_time", ""), f"{where}, full_time"),
        )
        try:
            group, reason = ifaq_groups.assign(activity)
        except ifaq.IfaqError as exc:
            raise ifaq.IfaqError(f"{where} : {exc}") from None
    ve = None
    if rec["ve"]:
        ve, _ = _number(rec["ve"], f"{where}, ve")
        if ve < 0:
            raise ifaq.IfaqError(f"{where} : ve négatif.")
    raw_result = rec["result"].upper()
    status = raw_result if raw_result in ("NR", "NV") else ("NR" if not raw_result else "ok")
    value = _rate(rec["result"], f"{where}, result", in_percent) if status == "ok" else None
    previous = (
        _rate(rec["previous_result"], f"{where}, previous_result", in_percent)
        if rec["previous_result"] and rec["previous_result"].upper() not in ("NR", "NV")
        else None
    )
    target = _rate(rec["target"], f"{where}, target", in_percent) if rec.get("target") else None
    return Row(n, finess, group, reason, ve, indicator, ifaq.Result(value, previous, status, target=target))


def simulate(year: ifaq.Year, rows: list[Row], unit_value: float | None = None) -> list[dict[str, Any]]:
    """One row per establishment and indicator, then its « numerique » row and, with ve, its amount."""
    if year.model != "A":
        raise ifaq.IfaqError(
            f"{year.year} relève du modèle B (enveloppes par indicateur, grille de l'annexe 2 non publiée) : "
            "la simulation par fichier suit les règles DGOS 2022 (années 2022 à 2025)."
        )
    by_group: dict[str, dict[str, list[Row]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        by_group[r.group][r.finess].append(r)
    out: list[dict[str, Any]] = []
    weights = year["digital_weights"]
    for group, ests in by_group.items():
        establishments = [
            ifaq.Establishment(f, f, rs[0].ve or 0.0, {r.indicator: r.result for r in rs})
            for f, rs in ests.items()
        ]
        indicators = sorted({r.indicator for rs in ests.values() for r in rs})
        allocs = ifaq.model_a(year, establishments, indicators, unit_value=unit_value)
        for finess, rs in ests.items():
            a = allocs[finess]
            for r in rs:
                d = a.details[r.indicator]
                out.append(
                    {
                        "finess": finess,
                        "group": group,
                        "indicator": r.indicator,
                        "level": round(d.level, 6),
                        "evolution": d.evolution,
                        "score": round(d.score, 6),
                        "result": r.result.value,
                        "previous_result": r.result.previous,
                        "status": d.status,
                        "threshold": d.threshold,
                        "target": d.target,
                        "evolution_counted": d.evolution_counted,
                        "lines": [x.detail for x in a.lines if x.label.startswith(f"{r.indicator} :")],
                    }
                )
            out.append(
                {
                    "finess": finess,
                    "group": group,
                    "indicator": DIGITAL,
                    "level": None,
                    "evolution": None,
                    "score": None if a.digital is None else round(a.digital, 6),
                    "weights": weights,
                    "lines": [x.detail for x in a.lines if x.label.startswith("Score numérique")],
                }
            )
            ve = rs[0].ve
            if ve is not None:
                out.append(_total_row(year, finess, group, rs[0].group_reason, ve, a, unit_value is None))
    return out


def _total_row(
    year: ifaq.Year, finess: str, group: str, reason: str, ve: float, a: ifaq.Allocation, rounded: bool
) -> dict[str, Any]:
    def r(x: float) -> float:
        return float(round(x / ROUND_TO) * ROUND_TO) if rounded else round(x, 2)

    low, high = a.amount_range or (a.amount, a.amount)
    unknowns = [
        {"key": k, "label": year.params[k].label, "status": ifaq.STATUS_FR[year.params[k].status]}
        for k in a.unknowns
        if k in year.params
    ]
    return {
        "finess": finess,
        "group": group,
        "group_reason": reason,
        "indicator": TOTAL,
        "level": None,
        "evolution": None,
        "score": round(a.total_score or 0.0, 6),
        "ve": ve,
        "amount": r(a.amount),
        "amount_range": [r(low), r(high)],
        "amount_rounded_to": ROUND_TO if rounded else None,
        "unknowns": unknowns,
        "lines": [
            f"{x.label} : {x.detail}" for x in a.lines if x.label in ("Valeur unitaire du groupe", "Montant")
        ],
    }
