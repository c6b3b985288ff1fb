"""`liaison export --letter ID --out DIR`: write a signed letter's CDA and PDF as stored at signature."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from liaison.cliutil import make_dir, write_bytes
from liaison.letters.models import Letter, LetterDocument


def write_documents(letter: Letter, out: Path) -> tuple[Path, Path]:
    doc = LetterDocument.objects.get(letter=letter)
    make_dir(out)
    cda = write_bytes(out / f"{letter.pk}.xml", bytes(doc.cda))
    pdf = write_bytes(out / f"{letter.pk}.pdf", bytes(doc.pdf))
    return cda, pdf


class Command(BaseCommand):
    help = "Écrit le CDA et le PDF d'une lettre signée (tels que produits à la signature)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--letter", type=int, required=True, help="identifiant de la lettre")
        parser.add_argument("--out", type=Path, required=True, help="dossier de sortie")

    def handle(self, *args, **o) -> None:
        try:
            letter = Letter.objects.get(pk=o["letter"])
            cda, pdf = write_documents(letter, o["out"])
        except Letter.DoesNotExist as exc:
            raise CommandError(f"Lettre {o['letter']} introuvable.") from exc
        except LetterDocument.DoesNotExist as exc:
            raise CommandError(
                f"La lettre {o['letter']} n'est pas signée : pas de document à exporter."
            ) from exc
        self.stdout.write(f"{cda}\n{pdf}")
