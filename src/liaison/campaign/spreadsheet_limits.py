"""Bounds checked on a spreadsheet before it is read (security review: a 3 Mo XLSX that inflated
to 1.2 Gio took 2.6 Go of memory in `liaison campaign import`).

Pure Python, no Django. An XLSX (or ODS) is a zip: its central directory declares the inflated
size of each member, but a forged directory may lie, and the spreadsheet reader (calamine, in
Rust) inflates what the data holds. So every member is inflated here first, as a stream (1 Mio
at a time, nothing kept), counting the bytes against `MAX_INFLATED_BYTES`; Python's zipfile stops
at the declared size and refuses a member whose data does not match it (CRC), so a lying
directory is caught too. While the worksheets stream by, their rows and cell references are
counted: a single cell at row 1 048 576 would make the reader build a million empty rows.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

MAX_FILE_BYTES = 20 * 1024 * 1024  # the file as stored (the web upload's limit too)
MAX_INFLATED_BYTES = 100 * 1024 * 1024  # a real HAS file: about 1 Mio inflated
MAX_MEMBERS = 1_000
MAX_ROWS = 100_000  # a HAS file has one row per establishment (a few thousand)
MAX_CELLS = 5_000_000  # rows × columns of the area the reader would build
CHUNK = 1024 * 1024

_ROW_REF = re.compile(rb"<(?:\w+:)?row\b[^>]*?\br=\"(\d+)\"")
_CELL_REF = re.compile(rb"<(?:\w+:)?c\b[^>]*?\br=\"([A-Z]{1,3})(\d+)\"")
_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>/]")
_WORKSHEET = re.compile(r"^xl/worksheets/[^/]+\.xml$")


class SpreadsheetTooLarge(ValueError):
    """The file exceeds a bound; the message is in French and says which."""


def _mib(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} Mio"


def _column_number(letters: bytes) -> int:
    n = 0
    for c in letters:
        n = n * 26 + (c - 64)
    return n


def check_file_size(path: Path) -> None:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise SpreadsheetTooLarge(f"fichier trop volumineux : {_mib(size)} (limite {_mib(MAX_FILE_BYTES)}).")


def check_row_count(rows: int) -> None:
    if rows > MAX_ROWS:
        raise SpreadsheetTooLarge(f"trop de lignes : {rows} (limite {MAX_ROWS}).")


def check_zipped_spreadsheet(path: Path) -> None:
    """Refuse an XLSX/ODS whose inflated size, row count or area exceeds the bounds, before the
    spreadsheet reader opens it. A file that is not a zip is left to the reader (old .xls)."""
    check_file_size(path)
    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
            if len(members) > MAX_MEMBERS:
                raise SpreadsheetTooLarge(f"classeur de {len(members)} parties (limite {MAX_MEMBERS}).")
            declared = sum(m.file_size for m in members)
            if declared > MAX_INFLATED_BYTES:
                raise SpreadsheetTooLarge(
                    f"une fois décompressé, le classeur occuperait {_mib(declared)} "
                    f"(limite {_mib(MAX_INFLATED_BYTES)}) : fichier refusé sans être lu."
                )
            inflated = 0
            for member in members:
                inflated = _stream(zf, member, inflated)
    except zipfile.BadZipFile as exc:
        raise SpreadsheetTooLarge(f"classeur corrompu ({exc}).") from exc


def _stream(zf: zipfile.ZipFile, member: zipfile.ZipInfo, inflated: int) -> int:
    """Inflate one member without keeping it; return the running total of inflated bytes."""
    sheet = bool(_WORKSHEET.match(member.filename))
    rows = max_row = max_col = 0
    tail = b""
    with zf.open(member) as stream:
        while chunk := stream.read(CHUNK):
            inflated += len(chunk)
            if inflated > MAX_INFLATED_BYTES:
                raise SpreadsheetTooLarge(
                    f"une fois décompressé, le classeur dépasse {_mib(MAX_INFLATED_BYTES)} : "
                    "fichier refusé sans être lu."
                )
            if not sheet:
                continue
            window = tail + chunk  # a tag cut between two chunks is seen whole here
            rows += len(_ROW_TAG.findall(chunk))
            for m in _ROW_REF.finditer(window):
                max_row = max(max_row, int(m.group(1)))
            for m in _CELL_REF.finditer(window):
                max_row = max(max_row, int(m.group(2)))
                max_col = max(max_col, _column_number(m.group(1)))
            tail = chunk[-256:]
            height = max(rows, max_row)
            check_row_count(height)
            if height * max(max_col, 1) > MAX_CELLS:
                raise SpreadsheetTooLarge(
                    f"feuille « {member.filename} » trop étendue : {height} lignes × {max_col} colonnes "
                    f"(limite {MAX_CELLS} cellules)."
                )
    return inflated
