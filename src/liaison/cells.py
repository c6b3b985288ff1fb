"""Spreadsheet cells that cannot run as formulas (CSV / XLSX "formula injection").

A patient name received by ADT such as `=HYPERLINK("http://…","Voir")` must come out of an
export as text, never as a live formula. Every CSV and XLSX writer passes its cells through
`safe_cell` (or writes with `safe_rows`): a text cell starting with `=`, `+`, `-`, `@`, a tab,
a carriage return or a line feed gets a leading apostrophe, as OWASP recommends; numbers,
dates and plain signed numbers written as text (`-3`, `+1,5`) are left as they are.

Written here rather than taken from `defusedcsv`: that package covers only the `csv` module
(not openpyxl) and does not treat a leading tab or carriage return. Pure Python, no Django.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")


def safe_cell(value: Any) -> Any:
    """`value`, with a leading `'` if it is text a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(TRIGGERS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_row(row: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in row]


def safe_rows(rows: Iterable[Iterable[Any]]) -> list[list[Any]]:
    return [safe_row(r) for r in rows]
