"""`liaison digital-indicators`: the DMP and MSSanté indicators of one calendar month by the
definition of the year (2022–2025: DGOS D2.2I / D6.3I; 2026: DMP feeding rate in liaison letters).

liaison digital-indicators --year 2024 --month 2024-10 [--format table|json|csv]
                           [--indicator D2.2I] [--out FILE] [--identities] [--finess FINESS]

CSV: the export attached to the oSIS declaration — the declaration's fields as `#` lines
(numerator, denominator, total stays, target, method, source), then the exhaustive list.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from liaison.cliutil import write_bytes
from liaison.indicators import definitions as d
from liaison.indicators import digital, digital_db, qls


class Command(BaseCommand):
    help = "Indicateurs numériques (DMP, MSSanté) d'un mois calendaire selon la définition de l'année."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--year", type=int, required=True, help="année de la définition (2022 à 2026)")
        parser.add_argument("--month", required=True, help="mois calendaire AAAA-MM (jours de sortie)")
        parser.add_argument("--format", choices=["table", "json", "csv"], default="table")
        parser.add_argument("--indicator", metavar="ID", help="un seul indicateur (ex. D2.2I)")
        parser.add_argument("--out", type=Path, help="écrire dans ce fichier plutôt qu'à l'écran")
        parser.add_argument("--finess", help="FINESS géographique si la base en compte plusieurs")
        parser.add_argument(
            "--identities", action="store_true", help="liste nominative (IPP ; sinon pseudonymisée)"
        )

    def handle(self, *args, **o) -> None:
        try:
            est = qls.the_establishment(o["finess"])
            data = digital_db.report(est, o["year"], o["month"], identified=o["identities"])
        except (digital.DigitalError, d.DefinitionError, qls.AuditError) as exc:
            raise CommandError(str(exc)) from exc
        results: list[digital.Result] = data.pop("results")
        if o["indicator"]:
            wanted = o["indicator"].upper()
            results = [r for r in results if r.definition.id.upper() == wanted]
            if not results:
                known = ", ".join(i["id"] for i in data["indicators"])
                raise CommandError(
                    f"Indicateur inconnu pour {o['year']} : {o['indicator']} (connus : {known})."
                )
            data["indicators"] = [r.as_dict() for r in results]
        if o["format"] == "csv":
            if len(results) > 1:
                known = ", ".join(r.definition.id for r in results)
                raise CommandError(f"Un fichier CSV par indicateur : précisez --indicator ({known}).")
            text = digital.to_csv(results[0], f"{est.name} (FINESS {est.finess_eg})")
        elif o["format"] == "json":
            data["indicators"] = [r.as_dict(with_rows=True) for r in results]
            text = json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n"
        else:
            text = self._table(data, results)
        if o["out"]:
            write_bytes(o["out"], text.encode("utf-8"))
            self.stderr.write(f"Écrit : {o['out']}")
        else:
            self.stdout.write(text, ending="")

    def _table(self, data: dict, results: list[digital.Result]) -> str:
        buf = io.StringIO()
        console = Console(width=150, file=buf)
        p = data["period"]
        console.print(
            f"[bold]{escape(data['establishment']['name'])}[/bold] — indicateurs numériques {data['year']}, "
            f"sorties du {p['from']} au {p['to']}"
        )
        t = Table()
        for col in (
            "indicateur",
            "numérateur",
            "dénominateur",
            "résultat",
            "séjours",
            "cible IFAQ",
            "source",
        ):
            t.add_column(col)
        for r in results:
            dd = r.definition
            t.add_row(
                escape(f"{dd.id} — {dd.label}"),
                str(r.numerator),
                f"{r.denominator} {r.unit}",
                digital.pct(r.value),
                str(r.total_stays),
                digital.pct(dd.ifaq_target) if dd.ifaq_target is not None else "non publiée",
                escape(f"{digital.STATUS_LABELS.get(dd.status, dd.status)} — {dd.source}"),
            )
        for i in data["liaison_indicators"]:
            t.add_row(
                escape(f"{i['id']} — {i['label']} (indicateur de Liaison)"),
                str(i["numerator"]),
                f"{i['denominator']} séjours",
                digital.pct(i["value"]),
                "",
                "",
                escape(i["status_fr"] + (f" — {i['source']}" if i["source"] else "")),
            )
        console.print(t)
        for r in results:
            for n in r.notes:
                console.print(escape(f"{r.definition.id} : {n}"))
        return buf.getvalue()
