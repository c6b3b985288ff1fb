"""Benchmark of the medicine search as physicians type, over the whole BDPM.

Every query below is typed keystroke by keystroke (from the second character), as the form's
autocomplete sends it; each keystroke is one search (`medicine_search.search`, 40 results, as
the view asks). Prints p50 and p95 of a search (median of several runs), the time to build the
index once per process, and, measured in the same run for reference, the search it replaced (a
scan of the marketed names for the typed substring, no accents, no substance, no strength).

    .venv/bin/python bench/bench_medicines.py [--runs 5]

Target: p95 ≤ 30 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
TARGET_P95_MS = 30.0
QUERIES = [
    "paracétamol",
    "apixaban 5",
    "amoxicilline 1 g",
    "furosémide 40 mg",
    "Doliprane 1000",
    "bisoprolol 2,5",
    "metformine 850 mg comprimé",
    "B01AF02",
    "atorvastatine 40",
    "amoxicilline acide clavulanique 1 g",
    "lévothyroxine 75",
    "enoxaparine 4000",
    "prednisolone 20 mg",
    "tramadol paracétamol",
    "insuline glargine",
]


def keystrokes() -> list[str]:
    return [q[:n] for q in QUERIES for n in range(2, len(q) + 1)]


def timed(fn, terms: list[str]) -> list[float]:
    out = []
    for t in terms:
        start = time.perf_counter()
        fn(t)
        out.append((time.perf_counter() - start) * 1000)
    return out


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from liaison.letters import medicine_search

    start = time.perf_counter()
    ix = medicine_search.index()
    build = time.perf_counter() - start
    marketed = [p.name for p in ix.products if p.marketed]

    def reference(term: str) -> list[str]:  # the search this one replaced
        t = term.strip().upper()
        starts = [n for n in marketed if n.upper().startswith(t)]
        return (starts + [n for n in marketed if t in n.upper() and not n.upper().startswith(t)])[:40]

    terms = keystrokes()
    ours, ref = [], []
    for _ in range(args.runs):
        times = timed(lambda t: medicine_search.search(t, 40), terms)
        ours.append((statistics.median(times), p95(times)))
        times = timed(reference, terms)
        ref.append((statistics.median(times), p95(times)))
    p50 = statistics.median(r[0] for r in ours)
    our95 = statistics.median(r[1] for r in ours)
    ref50 = statistics.median(r[0] for r in ref)
    ref95 = statistics.median(r[1] for r in ref)
    print(f"BDPM: {len(ix.products)} products with an active authorisation ({len(marketed)} marketed)")
    print(f"index built once per process: {build:.2f} s")
    print(f"{len(terms)} keystrokes × {args.runs} runs (medians of the runs)")
    print(f"search: p50 {p50:.2f} ms, p95 {our95:.2f} ms (target p95 ≤ {TARGET_P95_MS:.0f} ms)")
    print(f"reference, substring scan of the marketed names: p50 {ref50:.2f} ms, p95 {ref95:.2f} ms")
    print(f"ratio p95 search / reference: {our95 / ref95:.2f}")
    if our95 > TARGET_P95_MS:
        sys.exit(1)


if __name__ == "__main__":
    main()
