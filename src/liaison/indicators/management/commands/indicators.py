"""`liaison indicators`: the establishment's indicators for a period, or the proof of one figure.

liaison indicators [--from 2026-10-01 --to 2026-10-31] [--format table|json|csv] [--no-qls]
                   [--finess FINESS] [--definitions FILE]
liaison indicators --proof DMP --out preuve.xlsx [--identities]   (CSV if FILE ends in .csv)

Without --from/--to: the last complete calendar month. Days are days of discharge in Europe/Paris.
In JSON each indicator is an object with id, label, numerator, denominator and value (a
fraction between 0 and 1, null when the denominator is empty), plus its breakdowns.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from liaison.cells import safe_row
from liaison.cliutil import iso_date, write_bytes
from liaison.indicators import compute, exports, qls
from liaison.indicators import definitions as d
from liaison.letters.models import PARIS


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f} %".replace(".", ",")


class Command(BaseCommand):
    help = "Indicateurs de l'établissement (délais, DMP, MSSanté, accusés, QLS) ou preuve d'un chiffre."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="start", type=iso_date, help="premier jour de sortie")
        parser.add_argument("--to", dest="end", type=iso_date, help="dernier jour de sortie")
        parser.add_argument("--format", choices=["table", "json", "csv"], default="table")
        parser.add_argument("--finess", help="FINESS géographique si la base en compte plusieurs")
        parser.add_argument("--definitions", type=Path, help="fichier de définitions (YAML)")
        parser.add_argument("--no-qls", action="store_true", help="sans l'évaluation QLS (plus rapide)")
        parser.add_argument("--proof", metavar="ID", help="écrire la preuve d'un indicateur (ex. DMP)")
        parser.add_argument("--out", type=Path, help="fichier de la preuve (.xlsx ou .csv)")
        parser.add_argument(
            "--identities", action="store_true", help="preuve nominative (sinon pseudonymisée)"
        )

    def handle(self, *args, **o) -> None:
        try:
            defs = d.load(o["definitions"]) if o["definitions"] else compute.configured_definitions()
            est = qls.the_establishment(o["finess"])
        except (d.DefinitionError, qls.AuditError) as exc:
            raise CommandError(str(exc)) from exc
        start, end = o["start"], o["end"]
        if (start is None) != (end is None):
            raise CommandError("Précisez --from et --to ensemble (ou aucun : dernier mois complet).")
        if start is None:
            start, end = d.previous_month(dt.datetime.now(PARIS).date())
        try:
            if o["proof"]:
                self._proof(o, est, start, end, defs)
            else:
                self._figures(o, est, start, end, defs)
        except compute.IndicatorError as exc:
            raise CommandError(str(exc)) from exc

    def _proof(self, o: dict, est, start: dt.date, end: dt.date, defs: d.Definitions) -> None:  # type: ignore[no-untyped-def]
        try:
            indicator = defs.get(o["proof"].upper())
        except KeyError as exc:
            known = ", ".join(i.id for i in defs.indicators)
            raise CommandError(f"Indicateur inconnu : {o['proof']} (connus : {known}).") from exc
        out: Path | None = o["out"]
        if out is None:
            raise CommandError("Précisez --out FICHIER (.xlsx ou .csv).")
        proof = exports.build(est, start, end, indicator, defs, identified=o["identities"])
        if out.suffix.lower() == ".csv":
            write_bytes(out, exports.to_csv(proof).encode("utf-8"))
        else:
            write_bytes(out, exports.to_xlsx(proof))
        self.stderr.write(
            f"Preuve écrite : {out} ({proof.figure.numerator} / {proof.figure.denominator}, "
            f"{'nominative' if proof.identified else 'pseudonymisée'})"
        )

    def _figures(self, o: dict, est, start: dt.date, end: dt.date, defs: d.Definitions) -> None:  # type: ignore[no-untyped-def]
        steps = 2 if o["no_qls"] else 3
        console = Console(file=self.stderr._out, stderr=True)
        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        ) as progress:
            task = progress.add_task("Indicateurs", total=steps)
            first = [True]

            def step(label: str) -> None:
                if not first[0]:
                    progress.advance(task)
                first[0] = False
                progress.update(task, description=label)

            res = compute.compute(est, start, end, defs, with_qls=not o["no_qls"], step=step)
            progress.advance(task)
        data = res.as_dict()
        if o["format"] == "json":
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str))
        elif o["format"] == "csv":
            w = csv.writer(self.stdout, delimiter=";", lineterminator="\n")
            w.writerow(["id", "label", "numerator", "denominator", "value", "ci95_low", "ci95_high"])
            for i in data["indicators"]:
                ci = i.get("ci95") or ["", ""]
                w.writerow(
                    safe_row(
                        [
                            i["id"],
                            i["label"],
                            i["numerator"],
                            i["denominator"],
                            i["value"] or "",
                            ci[0],
                            ci[1],
                        ]
                    )
                )
        else:
            self._table(data)

    def _table(self, data: dict) -> None:
        console = Console(file=self.stdout, width=150)
        p = data["period"]
        console.print(
            f"[bold]{escape(data['establishment']['name'])}[/bold] — sorties du {p['from']} au {p['to']} "
            f"({data['stays']} séjours, {data['mssante_deliveries']} envois MSSanté ; "
            f"définitions {data['definitions_version']})"
        )
        table = Table()
        for col in ("indicateur", "numérateur", "dénominateur", "taux", "IC 95 %"):
            table.add_column(col)
        for i in data["indicators"]:
            ci = i.get("ci95")
            table.add_row(
                escape(f"{i['id']} — {i['label']}"),
                str(i["numerator"]),
                str(i["denominator"]),
                _pct(i["value"]),
                f"{_pct(ci[0])} – {_pct(ci[1])}" if ci else "—",
            )
        console.print(table)
        for dist in data["distributions"]:
            console.print(
                escape(dist["label"])
                + " : "
                + " · ".join(f"{b['label']} {b['count']}" for b in dist["buckets"])
            )
