"""Bench of `liaison demo-data --stays 500 --seed 1` on a fresh SQLite file (target < 30 s).

The whole command as a user runs it, documents included (every signed letter's CDA is built
and validated, and its PDF rendered). Run: `.venv/bin/python bench/bench_demo_data.py [--runs 3]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def once(stays: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"}
        cli = [sys.executable, "-m", "liaison.cli"]
        subprocess.run([*cli, "migrate", "-v0"], env=env, check=True)
        t0 = time.perf_counter()
        subprocess.run(
            [*cli, "demo-data", "--stays", str(stays), "--seed", "1"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--stays", type=int, default=500)
    args = parser.parse_args()
    times = [once(args.stays) for _ in range(args.runs)]
    print(
        f"demo-data --stays {args.stays} --seed 1 (SQLite, documents included): "
        f"median {statistics.median(times):.1f} s over {args.runs} runs "
        f"(min {min(times):.1f}, max {max(times):.1f}); target < 30 s"
    )


if __name__ == "__main__":
    main()
