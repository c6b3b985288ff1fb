"""QLS quality, pure Python (no Django): grids as versioned data, evaluation, sampling, audit.

- `grid.load_grid("qls/mco/v2-2022")`, `grid.all_grids()`: YAML grids under `grids/`, checked
  at load; each names rules of the registry in `rules.py`.
- `evaluate.evaluate(content, facts, grid) -> Evaluation`: one letter.
- `stats`: Wilson / Wald intervals, classes A/B/C, t-based mean interval.
- `sampling`: eligibility from grid data, seeded reproducible draw with a reserve list.
- `audit.run_audit(grid, records, seed=...)`: HAS-style audit with auditor overrides and the
  full picture; `export` writes it as CSV or XLSX.
"""
