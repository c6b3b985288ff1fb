"""`liaison read-acks [--once]`: read DSN/MDN/error mails and update the deliveries' states."""

from __future__ import annotations

import contextlib

from django.core.management.base import BaseCommand, CommandError, CommandParser

from liaison.delivery import acks
from liaison.delivery.config import AckConfig, ConfigError


class Command(BaseCommand):
    help = (
        "Lit les accusés de réception (DSN), de lecture (MDN) et les erreurs d'intégration dans la boîte "
        "applicative (LIAISON_MSS_IMAP ou LIAISON_MSS_MAILDIR_ACKS) et met à jour les envois."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="une seule lecture puis arrêt")
        parser.add_argument("--poll", type=float, default=10.0, help="attente entre deux lectures (s)")

    def handle(self, *args, **o) -> None:
        try:
            config = AckConfig.from_env()
        except ConfigError as exc:
            raise CommandError(str(exc)) from exc
        if not config.configured:
            raise CommandError(
                "Aucune boîte à lire : définissez LIAISON_MSS_IMAP (imaps://…) ou LIAISON_MSS_MAILDIR_ACKS."
            )
        if o["once"]:
            self.stdout.write(f"{acks.read_once(config)} envoi(s) mis à jour.")
            return
        self.stdout.write("Lecture des accusés MSSanté (Ctrl-C pour arrêter)")
        with contextlib.suppress(KeyboardInterrupt):
            acks.run_forever(config, o["poll"])
