"""`liaison mllp --port 2575`: the MLLP listener for the GAM's HL7 v2 ADT messages."""

from __future__ import annotations

import contextlib
import logging
import signal
import sys

from django.core.management.base import BaseCommand, CommandParser

from liaison.ingest.mllp import MLLPServer


class Command(BaseCommand):
    help = "Écoute les messages HL7 v2 ADT (IHE PAM.fr) du GAM en MLLP et répond par un ACK."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="adresse d'écoute (127.0.0.1 par défaut)")
        parser.add_argument("--port", type=int, default=2575, help="port d'écoute (2575 par défaut)")

    def handle(self, *args, **opts) -> None:
        logging.basicConfig(
            level=logging.DEBUG if opts["verbosity"] > 1 else logging.INFO,
            format="%(asctime)s %(name)s %(message)s",
        )
        server = MLLPServer(opts["host"], opts["port"])
        host, port = server.address

        def stop(signum: int, frame: object) -> None:
            sys.exit(0)

        signal.signal(signal.SIGTERM, stop)
        self.stdout.write(f"Écoute MLLP sur {host}:{port} (Ctrl-C pour arrêter).")
        self.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
        self.stdout.write("Écoute MLLP arrêtée.")
