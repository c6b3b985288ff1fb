"""`liaison deliveries [--format table|json]`: every delivery with its state and last error."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandParser
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from liaison.delivery.models import Delivery


class Command(BaseCommand):
    help = "Liste les envois (lettre, canal, destinataire, état, essais, dernière erreur)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["table", "json"], default="table")
        parser.add_argument(
            "--state", choices=Delivery.State.values, help="filtrer sur un état (pending, sent, failed…)"
        )

    def handle(self, *args, **o) -> None:
        qs = Delivery.objects.select_related("letter__stay").order_by("id")
        if o["state"]:
            qs = qs.filter(state=o["state"])
        rows = [
            {
                "id": d.pk,
                "letter": d.letter_id,
                "stay": d.letter.stay.visit_number,
                "version": d.letter.version,
                "channel": d.channel,
                "recipient_role": d.recipient_role,
                "recipient": d.recipient_address,
                "state": d.state,
                "attempts": d.attempts,
                "sent_at": d.sent_at.isoformat() if d.sent_at else None,
                "acknowledged_at": d.acknowledged_at.isoformat() if d.acknowledged_at else None,
                "last_error": d.last_error,
            }
            for d in qs
        ]
        if o["format"] == "json":
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        table = Table(title=f"{len(rows)} envoi(s)")
        for col in ("lettre", "canal", "destinataire", "état", "essais", "dernière erreur"):
            table.add_column(col)
        for r in rows:
            table.add_row(
                str(r["letter"]),
                r["channel"],
                escape(r["recipient"]),
                r["state"],
                str(r["attempts"]),
                escape(r["last_error"]),
            )
        Console(file=self.stdout, width=160).print(table)
