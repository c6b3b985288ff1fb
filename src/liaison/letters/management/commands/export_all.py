"""`liaison export-all --out DIR`: the CDA and PDF of the current version of every signed letter."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from liaison.cliutil import make_dir
from liaison.letters.management.commands.export import write_documents
from liaison.letters.models import Letter


class Command(BaseCommand):
    help = "Écrit DIR/<id>.xml et DIR/<id>.pdf pour la version en vigueur de chaque lettre signée."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, required=True, help="dossier de sortie")

    def handle(self, *args, **o) -> None:
        letters = Letter.objects.filter(status=Letter.Status.SIGNED, document__isnull=False).order_by("pk")
        make_dir(o["out"])
        n = 0
        for letter in letters.iterator():
            write_documents(letter, o["out"])
            n += 1
        self.stdout.write(f"{n} lettre(s) exportée(s) dans {o['out']}.")
