"""Benchmark: grade 100,000 synthetic letters with the QLS MCO v2 grid.

Run: .venv/bin/python bench/bench_quality.py [--letters N] [--runs R] [--seed S]

Letters are built in-process from a seeded generator (liaison.demo.synthetic.letters), outside the
timed section. Each run grades every letter once; the median run is reported with letters per
second. Target: under 10 s for 100,000 letters.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from liaison.demo.synthetic.letters import random_letter
from liaison.quality.evaluate import evaluate
from liaison.quality.grid import load_grid

TARGET_SECONDS = 10.0


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark de l'évaluation QLS.")
    parser.add_argument("--letters", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--grid", default="qls/mco/v2-2022")
    args = parser.parse_args()

    grid = load_grid(args.grid)
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    letters = [random_letter(rng) for _ in range(args.letters)]
    build = time.perf_counter() - t0
    print(f"{args.letters} lettres synthétiques construites en {build:.1f} s (hors mesure)")

    times: list[float] = []
    compliant = 0
    for _ in range(args.runs):
        t0 = time.perf_counter()
        compliant = sum(evaluate(content, facts, grid).compliant for content, facts in letters)
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    print(f"grille {grid.id} (sha-256 {grid.sha256[:12]}…)")
    print(f"passes : {', '.join(f'{t:.2f} s' for t in times)}")
    print(f"médiane : {median:.2f} s pour {args.letters} lettres")
    print(f"débit : {args.letters / median:,.0f} lettres/s ; {1e6 * median / args.letters:.1f} µs par lettre")
    print(f"lettres conformes : {compliant / args.letters:.1%}")
    scaled = median * 100_000 / args.letters
    verdict = "atteint" if scaled < TARGET_SECONDS else "NON atteint"
    print(f"objectif < {TARGET_SECONDS:.0f} s pour 100 000 lettres : {verdict} ({scaled:.2f} s)")


if __name__ == "__main__":
    main()
