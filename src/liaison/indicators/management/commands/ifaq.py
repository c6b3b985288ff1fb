"""`liaison ifaq`: IFAQ simulation of a set of establishments by the DGOS 2022 rules.

liaison ifaq --year 2024 --input etablissements.csv [--format table|json] [--unit-value 0.007]

The CSV (ifaq_file.py) has one row per establishment and indicator. The JSON is a list of
{finess, indicator, level, evolution, score, …}, then per establishment a row « numerique »
(0.25 × DMP + 0.75 × MSS) and, when ve is given, a row « total » with the amount.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.table import Table

from liaison import cliutil
from liaison.indicators import ifaq, ifaq_file

MAX_INPUT_BYTES = 20 * 1024 * 1024  # one row per establishment and indicator: a few Mo for France


def _share(x: float | None) -> str:
    return "—" if x is None else ifaq.pct(x)


class Command(BaseCommand):
    help = "Simulation IFAQ d'un ensemble d'établissements (règles DGOS 2022), depuis un fichier CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--year", type=int, required=True, help="campagne IFAQ (2022 à 2025)")
        parser.add_argument("--input", type=Path, required=True, help="fichier CSV des résultats")
        parser.add_argument("--format", choices=["table", "json"], default="table")
        parser.add_argument(
            "--unit-value", type=float, default=None, help="valeur unitaire VU supposée (défaut : hypothèse)"
        )

    def handle(self, *args, **o) -> None:
        text = cliutil.read_text(o["input"], "Fichier IFAQ", max_bytes=MAX_INPUT_BYTES)
        try:
            year = ifaq.load_year(o["year"])
            rows = ifaq_file.simulate(year, ifaq_file.read(text), unit_value=o["unit_value"])
        except ifaq.IfaqError as exc:
            raise CommandError(str(exc)) from exc
        if o["format"] == "json":
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        self._table(year, rows)

    def _table(self, year: ifaq.Year, rows: list[dict]) -> None:
        console = Console(file=self.stdout, width=160)
        t = Table(title=f"Simulation IFAQ {year.year} (règles DGOS 2022)")
        for col in (
            "FINESS",
            "Groupe",
            "Indicateur",
            "Résultat",
            "Seuil",
            "Cible",
            "Niveau",
            "Évolution",
            "Score",
        ):
            t.add_column(col)
        unknowns: dict[str, str] = {}
        for r in rows:
            if r["indicator"] == ifaq_file.TOTAL:
                low, high = r["amount_range"]
                amount = ifaq.euros(r["amount"]) + (
                    f" ({ifaq.euros(low)} – {ifaq.euros(high)})" if low != high else ""
                )
                t.add_row(r["finess"], r["group"], "montant", "", "", "", "", "", amount)
                unknowns.update({u["key"]: f"{u['label']} ({u['status']})" for u in r["unknowns"]})
                continue
            t.add_row(
                r["finess"],
                r["group"],
                r["indicator"],
                _share(r.get("result")) if r.get("status", "ok") == "ok" else r["status"],
                _share(r.get("threshold")),
                _share(r.get("target")),
                _share(r["level"]),
                _share(r["evolution"]),
                ifaq.num(r["score"]) if r["score"] is not None else "—",
            )
        console.print(t)
        if unknowns:
            console.print("Les montants dépendent de paramètres non publiés (arrondis au millier d'euros) :")
            for label in unknowns.values():
                console.print(f"  - {label}")
