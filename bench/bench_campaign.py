"""Bench of the campaign side on the two real e-Satis SMR files (fresh SQLite file by default).

Times: reading + checking each file (no database), the full import of each file (first import,
then re-import of the same year), national/regional figures, targeting, one profile PDF.
Run: `.venv/bin/python bench/bench_campaign.py [--runs 3] [--database-url postgres://…]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def timed(fn: Callable[[], object], runs: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{Path(tmp.name) / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liaison.web.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from liaison.campaign import services
    from liaison.campaign.profile_pdf import render_profile_pdf
    from liaison.campaign.reader import parse

    call_command("migrate", verbosity=0)
    engine = os.environ["DATABASE_URL"].split(":", 1)[0]
    files = services.opendata_files()
    for f in files:
        t, parsed = timed(lambda f=f: parse(f), args.runs)
        n, r = len(parsed.establishments), len(parsed.results)
        print(f"read + check {f.name}: {n} rows, {r} results, {1000 * t:.0f} ms")
    for f in files:
        t0 = time.perf_counter()
        batch = services.import_file(f)
        first = time.perf_counter() - t0
        t, _ = timed(lambda f=f: services.import_file(f), args.runs)
        print(
            f"import {f.name} ({engine}): first {1000 * first:.0f} ms, re-import median {1000 * t:.0f} ms "
            f"({batch.rows} establishments, {batch.results} results)"
        )
    t, _ = timed(lambda: services.figures("ESATIS_SMR_GLOBAL", 2024), args.runs)
    print(f"figures ESATIS_SMR_GLOBAL 2024 (nation, regions, departments): {1000 * t:.0f} ms")
    t, result = timed(
        lambda: services.run_targeting(["ESATIS_SMR_GLOBAL", "ESATIS_SMR_SORTIE"], 2023), args.runs
    )
    print(f"targeting 2 indicators 2023: {len(result.ranked)} ranked in {1000 * t:.0f} ms")
    t, pdf = timed(lambda: render_profile_pdf(services.profile("010000198")), args.runs)
    print(f"profile PDF 010000198: {len(pdf)} bytes in {1000 * t:.0f} ms (median of {args.runs})")
    tmp.cleanup()


if __name__ == "__main__":
    main()
