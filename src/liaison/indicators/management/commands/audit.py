"""`liaison audit`: the establishment's QLS audit by the HAS method, or the grading of CDA files.

liaison audit --sector MCO --from 2026-10-01 --to 2026-10-31 [--sample 80 --seed 1]
              [--grid qls/mco/v2-2022] [--format table|json|csv] [--xlsx FILE] [--save]
liaison audit --letters DIR [--grid …] [--format table|json|csv]
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from liaison.cliutil import iso_date, os_reason
from liaison.documents.reader import CdaFileResult, audit_cda_files
from liaison.indicators import qls
from liaison.quality.export import audit_to_csv, write_audit_xlsx
from liaison.quality.grid import GridError, load_grid

RESULT_FR = {"met": "oui", "not_met": "non", "not_applicable": "NA"}


def _verdict(value: bool | None, error: bool = False) -> str:
    return "" if error else "non vérifiable" if value is None else "oui" if value else "non"


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f} %"


class Command(BaseCommand):
    help = "Audit QLS de l'établissement (méthode HAS) ou évaluation de fichiers CDA LDL-SES."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sector", help="secteur : MCO ou CA (grille par défaut du secteur)")
        parser.add_argument("--from", dest="start", type=iso_date, help="premier jour de sortie")
        parser.add_argument("--to", dest="end", type=iso_date, help="dernier jour de sortie")
        parser.add_argument(
            "--sample", type=int, default=None, help="taille de l'échantillon (défaut : grille)"
        )
        parser.add_argument("--seed", default="1", help="graine du tirage au sort")
        parser.add_argument(
            "--grid", help="grille, ex. qls/mco/v2-2022, qls/mco/v1-2016, decret/all/r1112-1-2"
        )
        parser.add_argument("--finess", help="FINESS géographique si la base en compte plusieurs")
        parser.add_argument("--letters", type=Path, help="dossier de fichiers CDA à évaluer")
        parser.add_argument("--format", choices=["table", "json", "csv"], default="table")
        parser.add_argument("--xlsx", type=Path, help="écrire aussi la grille d'audit en XLSX")
        parser.add_argument("--save", action="store_true", help="enregistrer l'audit (échantillon figé)")
        parser.add_argument(
            "--campaign-year",
            type=int,
            help="campagne HAS (année) : éligibilité de la grille pour cette campagne et, si la grille "
            "le dit, séjours de l'année précédente",
        )

    def handle(self, *args, **o) -> None:
        try:
            if o["letters"]:
                self._files(o)
            else:
                self._establishment(o)
        except (qls.AuditError, GridError) as exc:
            raise CommandError(str(exc)) from exc

    def _files(self, o: dict) -> None:
        folder: Path = o["letters"]
        if not folder.is_dir():
            raise CommandError(f"Dossier introuvable : {folder}")
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".xml")
        if not files:
            raise CommandError(f"Aucun fichier CDA (*.xml) dans le dossier {folder}.")
        results = audit_cda_files(files, grid_id=o["grid"] or qls.DEFAULT_GRIDS["MCO"])
        self._report(o, files, results)
        unreadable = [r for r in results if "error" in r]
        for r in unreadable:
            self.stderr.write(f"{r['file']} : {r['error']}")
        if unreadable:
            raise CommandError(f"{len(unreadable)} fichier(s) CDA illisible(s) sur {len(files)}.")

    def _report(self, o: dict, files: list[Path], results: list[CdaFileResult]) -> None:
        if o["format"] == "json":
            self.stdout.write(json.dumps(results, ensure_ascii=False, indent=2, default=str))
            return
        if o["format"] == "csv":
            self.stdout.write(
                "fichier;conforme;conforme sur le contenu;erreur;critères non remplis;non vérifiables"
            )
            for r in results:
                crit = r.get("criteria", {})
                missing = ",".join(k for k, v in crit.items() if v == "not_met")
                unknown = ",".join(k for k, v in crit.items() if v is None)
                self.stdout.write(
                    f"{r['file']};{_verdict(r.get('compliant'), 'error' in r)};"
                    f"{_verdict(r.get('compliant_on_content'), 'error' in r)};{r.get('error', '')};"
                    f"{missing};{unknown}"
                )
            return
        table = Table(title=f"Évaluation de {len(files)} fichier(s) CDA")
        for col in ("fichier", "conforme", "sur le contenu", "à corriger", "non vérifiable sur le document"):
            table.add_column(col)
        for r in results:
            if "error" in r:
                table.add_row(escape(Path(r["file"]).name), "illisible", "", escape(r["error"]), "")
            else:
                table.add_row(
                    escape(Path(r["file"]).name),
                    _verdict(r["compliant"]),
                    _verdict(r["compliant_on_content"]),
                    escape("; ".join(p["explanation"] for p in r.get("problems", []))),
                    ", ".join(x["criterion"] for x in r["not_verifiable"]),
                )
        Console(file=self.stdout, width=160).print(table)

    def _establishment(self, o: dict) -> None:
        if not (o["sector"] or o["grid"]):
            raise CommandError("Précisez --sector (ou --grid), --from et --to, ou bien --letters DOSSIER.")
        grid = load_grid(o["grid"]) if o["grid"] else qls.default_grid(o["sector"].upper())
        if o["campaign_year"] is not None:
            if o["save"]:
                raise CommandError(
                    "--campaign-year ne s'enregistre pas (--save) : déclarez la campagne "
                    "et tirez son échantillon."
                )
            grid = grid.for_campaign(o["campaign_year"])
            period = grid.stays_period(o["campaign_year"])
            if period and not (o["start"] or o["end"]):
                o["start"], o["end"] = period
        if not (o["start"] and o["end"]):
            raise CommandError("Précisez --sector (ou --grid), --from et --to, ou bien --letters DOSSIER.")
        est = qls.the_establishment(o["finess"])
        audit = qls.run(est, grid, o["start"], o["end"], o["seed"], o["sample"])
        if o["save"]:
            saved = qls.start_audit(est, grid, o["start"], o["end"], o["seed"], None, o["sample"])
            self.stderr.write(f"Audit enregistré : n° {saved.pk}")
        if o["xlsx"]:
            try:
                write_audit_xlsx(audit, o["xlsx"])
            except OSError as exc:
                raise CommandError(f"Écriture impossible : {os_reason(exc)}.") from exc
            self.stderr.write(f"Grille d'audit écrite : {o['xlsx']}")
        if o["format"] == "json":
            self.stdout.write(json.dumps(audit.as_dict(), ensure_ascii=False, indent=2, default=str))
        elif o["format"] == "csv":
            self.stdout.write(audit_to_csv(audit), ending="")
        else:
            self._table(audit.as_dict())

    def _table(self, d: dict) -> None:
        console = Console(file=self.stdout, width=140)
        g = d["grid"]
        console.print(
            f"[bold]{g.get('title_fr', g['id'])}[/bold] (grille {g['id']}, sha-256 {g['sha256'][:12]}…)"
        )
        console.print(d["mode"])
        pop = d["population"]
        console.print(
            f"Séjours éligibles : {pop['eligible']} · exclus : {pop['excluded']} · échantillon : {d['n']}"
        )
        console.print(
            f"Taux de lettres conformes : [bold]{_pct(d['rate'])}[/bold] ({d['compliant']}/{d['n']}), "
            f"IC 95 % Wilson [{_pct(d['ci95'][0])} ; {_pct(d['ci95'][1])}] · "
            f"classe [bold]{d['class'] if d.get('interpretable', True) else 'non interprétable'}[/bold] "
            f"(objectif {_pct(d['target'])})"
        )
        if d.get("interpretation_fr"):
            console.print(f"[bold]{d['interpretation_fr']}[/bold]")
        sv = d["score_v1"]
        console.print(f"Score format 2016–2019 : {sv['mean']:.1f}/100" if sv.get("mean") is not None else "")
        table = Table(title="Taux par critère (échantillon)")
        for col in ("critère", "remplis", "non remplis", "NA", "taux", "priorité nationale"):
            table.add_column(col)
        for c in d["criteria"].values():
            table.add_row(
                escape(c["label_fr"]),
                str(c["met"]),
                str(c["not_met"]),
                str(c["not_applicable"]),
                _pct(c["rate"]),
                "★" if c.get("national_priority") else "",
            )
        console.print(table)
        full = d["full"]
        err = d["sampling_error"]
        console.print(
            f"Tous les séjours éligibles ({full['n']}) : {_pct(full['rate'])}, IC 95 % "
            f"[{_pct(full['ci95'][0])} ; {_pct(full['ci95'][1])}] — l'échantillon s'écarte de "
            f"{_pct(err['sample_minus_full'])} du taux réel (largeur d'IC {_pct(err['sample_ci_width'])} "
            f"contre {_pct(err['full_ci_width'])})."
        )
