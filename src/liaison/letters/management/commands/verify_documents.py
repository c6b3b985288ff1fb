"""`liaison verify-documents`: every signed letter's content, CDA and PDF against the sha-256
recorded at signature (after a restore, or at any time). Exit status 1 on any mismatch, each
named by the letter's number and document identifier (no patient data)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from liaison.letters.integrity import verify


class Command(BaseCommand):
    help = (
        "Vérifie que le contenu, le CDA et le PDF de chaque lettre signée correspondent toujours à "
        "leur empreinte SHA-256 enregistrée à la signature (à lancer après une restauration)."
    )

    def handle(self, *args, **o) -> None:
        count, found = verify()
        for m in found:
            self.stderr.write(
                f"Lettre {m.letter_id} ({m.document_oid}) : {m.what} ne correspond plus à son empreinte."
            )
        if found:
            raise CommandError(f"{len(found)} écart(s) d'empreinte sur {count} lettre(s) signée(s).")
        self.stdout.write(
            f"{count} lettre(s) signée(s) vérifiée(s) : contenu, CDA et PDF conformes à leur empreinte."
        )
