"""The ground floor: Paris days measured in Paris whatever the offset, and `core` importing no
other Liaison package nor Django (also checked by import-linter in `make lint`)."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

from liaison.core.paris import PARIS, paris_day, paris_days

CORE = Path(__file__).resolve().parents[1] / "src" / "liaison" / "core"


def test_a_late_evening_in_utc_is_the_next_day_in_paris():
    assert paris_day(dt.datetime(2024, 12, 2, 23, 30, tzinfo=dt.UTC)) == dt.date(2024, 12, 3)
    assert paris_day(dt.datetime(2024, 12, 2, 23, 30)) == dt.date(2024, 12, 2)  # naive: Paris wall time
    assert paris_day(None) is None


def test_the_day_the_clocks_go_forward_lasts_23_hours_in_paris():
    start, end = paris_days(dt.date(2025, 3, 30))
    assert start == dt.datetime(2025, 3, 30, tzinfo=PARIS)
    assert end.astimezone(dt.UTC) - start.astimezone(dt.UTC) == dt.timedelta(hours=23)
    first, last = paris_days(dt.date(2025, 3, 1), dt.date(2025, 3, 31))
    assert (last.astimezone(dt.UTC) - first.astimezone(dt.UTC)) == dt.timedelta(days=31, hours=-1)


def test_core_imports_no_other_liaison_package_nor_django():
    for module in CORE.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names] if isinstance(node, ast.Import)
                else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )
            for name in names:
                assert not name.startswith("django"), f"{module.name} importe {name}"
                assert not name.startswith("liaison.") or name.startswith("liaison.core"), (
                    f"{module.name} importe {name}, hors du rez-de-chaussée"
                )
