"""Medicines from the ANSM BDPM (CIS codes) with their ATC code, read from `shared/reference/`."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import cache

from liaison.paths import reference_dir


@dataclass(frozen=True)
class Medicine:
    cis: str
    name: str
    form: str
    routes: str
    atc: str | None


@cache
def cis_to_atc() -> dict[str, str]:
    path = reference_dir() / "atc-fr" / "CIS-ATC_2024-04-07.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        return {row["Code CIS"]: row["Code ATC"] for row in csv.DictReader(fh)}


@cache
def marketed_medicines() -> tuple[Medicine, ...]:
    """Every marketed medicine with an active authorisation, ordered by CIS."""
    atc = cis_to_atc()
    out = []
    # cp1252, not latin-1: the file holds byte 0x92 (’), see reference/bdpm/MANIFEST.md.
    with (reference_dir() / "bdpm" / "CIS_bdpm.txt").open(encoding="cp1252", newline="") as fh:
        for cols in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(cols) < 7 or cols[4] != "Autorisation active" or cols[6] != "Commercialisée":
                continue
            out.append(Medicine(cols[0], cols[1].strip(), cols[2].strip(), cols[3], atc.get(cols[0])))
    return tuple(sorted(out, key=lambda m: m.cis))


def search(term: str, limit: int = 20) -> list[Medicine]:
    """Medicines whose name starts with, then contains, `term` (case-insensitive)."""
    t = term.strip().upper()
    if not t:
        return []
    meds = marketed_medicines()
    starts = [m for m in meds if m.name.upper().startswith(t)]
    contains = [m for m in meds if t in m.name.upper() and not m.name.upper().startswith(t)]
    return (starts + contains)[:limit]


@cache
def cis_names() -> dict[str, str]:
    """Every CIS of the BDPM (whatever its status: a patient may take an old medicine) → name."""
    with (reference_dir() / "bdpm" / "CIS_bdpm.txt").open(encoding="cp1252", newline="") as fh:
        return {
            cols[0]: cols[1].strip()
            for cols in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
            if len(cols) > 1
        }


@cache
def cip13_to_cis() -> dict[str, str]:
    """CIP13 presentation code → CIS (the CIP file is UTF-8, unlike the others)."""
    with (reference_dir() / "bdpm" / "CIS_CIP_bdpm.txt").open(encoding="utf-8", newline="") as fh:
        rows = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        return {cols[6]: cols[0] for cols in rows if len(cols) > 6}


@cache
def atc_labels() -> dict[str, str]:
    """ATC code → French label (every level of the classification)."""
    with (reference_dir() / "atc-fr" / "ATC_2024_02_15_fr.json").open(encoding="utf-8") as fh:
        return json.load(fh)
