"""`liaison import-adt FILE…` (alias `liaison import-hl7`): apply a batch file of HL7 v2 messages
(ADT, ORU^R01, OMP^O09, RDE^O11), as the listener would."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from liaison import cliutil
from liaison.ingest import hl7v2
from liaison.ingest.apply import process
from liaison.ingest.models import InboundMessage

# A day of a large hospital's ADT and clinical traffic is a few Mo; a larger file is split.
MAX_FILE_BYTES = 20 * 1024 * 1024


class Command(BaseCommand):
    help = (
        "Intègre un fichier de messages HL7 v2 (ADT, ORU^R01, OMP^O09, RDE^O11 ; un message par bloc "
        "commençant par MSH ; trames MLLP et segments FHS/BHS acceptés), dans l'ordre du fichier."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", help="fichier(s) de messages ; « - » pour l'entrée standard")

    def handle(self, *args, **opts) -> None:
        refused_total = 0
        for name in opts["files"]:
            if name == "-":
                data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
                if len(data) > MAX_FILE_BYTES:
                    raise CommandError(
                        f"Entrée standard trop volumineuse ({MAX_FILE_BYTES // 1024 // 1024} Mo au plus)."
                    )
            else:
                path = Path(name)
                if not path.is_file():
                    raise CommandError(f"Fichier introuvable : {name}")
                data = cliutil.read_bytes(path, "Fichier HL7", max_bytes=MAX_FILE_BYTES)
            if not data.strip():
                raise CommandError(f"{name} : fichier vide, aucun message HL7.")
            counts: Counter[str] = Counter()
            messages = hl7v2.split_batch(hl7v2.decode(data))
            for i, text in enumerate(messages, start=1):
                outcome = process(text, InboundMessage.Source.FILE, peer=Path(name).name[:100])
                counts[outcome.outcome] += 1
                if outcome.code != "AA":
                    header = hl7v2.sniff_header(text)
                    kind = f"{header.message_code or '?'}^{header.event or '?'}"
                    ident = f"MSH-10 {header.control_id or '?'}, {kind}"
                    self.stderr.write(f"  message {i} ({ident}) refusé ({outcome.code}) : {outcome.reason}")
            refused_total += counts[InboundMessage.Outcome.REFUSED]
            self.stdout.write(
                f"{name} : {len(messages)} message(s) — "
                f"{counts[InboundMessage.Outcome.ACCEPTED]} intégré(s), "
                f"{counts[InboundMessage.Outcome.DUPLICATE]} doublon(s), "
                f"{counts[InboundMessage.Outcome.REFUSED]} refusé(s)."
            )
        if refused_total:
            raise CommandError(f"{refused_total} message(s) refusé(s) : voir les motifs ci-dessus.")
