"""`liaison validate FILE...`: check CDA files against the official ANS artefacts (LDL-SES).

Exit status 1 when any file has an error, each such file named on stderr with its first error
(missing, unreadable or malformed files included); `--format json` for machines, `--full` adds
the structuration minimale schematron (slow to load).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from liaison.documents.validation import LdlSesValidator, errors


class Command(BaseCommand):
    help = "Valide des fichiers CDA LDL-SES (XSD, schematrons ANS, terminologies)."
    requires_system_checks: list = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--format", choices=["table", "json"], default="table")
        parser.add_argument("--full", action="store_true", help="inclure la structuration minimale (lent)")

    def handle(self, *args, **o) -> None:
        validator = LdlSesValidator(full=o["full"])
        report, failed = [], False
        for path in o["files"]:
            if not path.is_file():
                report.append(
                    {
                        "file": str(path),
                        "valid": False,
                        "findings": [
                            {
                                "severity": "error",
                                "source": "fichier",
                                "location": "",
                                "message": "Fichier introuvable.",
                            }
                        ],
                    }
                )
                failed = True
                continue
            findings = validator.validate(path)
            valid = not errors(findings)
            failed |= not valid
            report.append(
                {
                    "file": str(path),
                    "valid": valid,
                    "findings": [
                        {
                            "severity": f.severity,
                            "source": f.source,
                            "location": f.location,
                            "message": f.message,
                            "field": f.field,
                        }
                        for f in findings
                    ],
                }
            )
        if o["format"] == "json":
            self.stdout.write(json.dumps(report, ensure_ascii=False, indent=2))
        else:
            table = Table(title="Validation LDL-SES")
            for col in ("fichier", "résultat", "constats"):
                table.add_column(col)
            for r in report:
                n_err = sum(1 for f in r["findings"] if f["severity"] == "error")
                n_warn = len(r["findings"]) - n_err
                detail = "; ".join(
                    f"{f['message']} [{f['location']}]" for f in r["findings"] if f["severity"] == "error"
                )
                table.add_row(
                    escape(r["file"]),
                    "conforme" if r["valid"] else f"{n_err} erreur(s)",
                    escape(detail) or (f"{n_warn} avertissement(s)" if n_warn else ""),
                )
            Console(file=self.stdout, width=160).print(table)
        for r in report:
            if not r["valid"]:
                first = next(f for f in r["findings"] if f["severity"] == "error")
                n = sum(1 for f in r["findings"] if f["severity"] == "error")
                more = f" (et {n - 1} autre(s) erreur(s))" if n > 1 else ""
                self.stderr.write(f"{r['file']} : {first['message']}{more}")
        if failed:
            sys.exit(1)
