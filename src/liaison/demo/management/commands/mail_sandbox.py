"""`liaison mail-sandbox --port 2525 --maildir var/mail`: the loopback MSSanté sandbox (aiosmtpd)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from liaison.cliutil import make_dir, os_reason, port
from liaison.demo.sandboxes import mail as mail_sandbox


class Command(BaseCommand):
    help = (
        "Bac à sable MSSanté local : serveur SMTP sur la boucle locale qui range chaque message dans "
        "une boîte Maildir par adresse et renvoie les accusés de réception (DSN) demandés."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="adresse d'écoute (boucle locale)")
        parser.add_argument("--port", type=port, default=2525)
        parser.add_argument("--maildir", default="var/mail", help="racine des boîtes (une par adresse)")
        parser.add_argument(
            "--mdn",
            action="store_true",
            help="simuler la lecture par le destinataire : accusé de lecture (MDN) quand il est demandé",
        )

    def handle(self, *args, **o) -> None:
        root = make_dir(Path(o["maildir"]).resolve())
        try:
            controller = mail_sandbox.start(root, o["host"], o["port"], auto_mdn=o["mdn"])
        except OSError as exc:
            raise CommandError(f"Écoute impossible sur {o['host']}:{o['port']} : {os_reason(exc)}.") from exc
        self.stdout.write(
            f"Bac à sable MSSanté : smtp://{o['host']}:{o['port']} → {root} (Ctrl-C pour arrêter)\n"
            f"Pour l'utiliser : LIAISON_MSS_SMTP=smtp://{o['host']}:{o['port']} "
            f"LIAISON_MSS_MAILDIR_ACKS={root}"
        )
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            controller.stop()
