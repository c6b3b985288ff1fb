"""Medicines from the ANSM BDPM (CIS codes) with their ATC code, read from `shared/reference/`.

The search as physicians type is in `medicine_search`."""

from __future__ import annotations

import csv
import json
from functools import cache

from liaison.paths import reference_dir


@cache
def cis_to_atc() -> dict[str, str]:
    path = reference_dir() / "atc-fr" / "CIS-ATC_2024-04-07.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        return {row["Code CIS"]: row["Code ATC"] for row in csv.DictReader(fh)}


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
