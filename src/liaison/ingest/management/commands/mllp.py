"""`liaison mllp --port 2575 [--workers N]`: the MLLP listener for the GAM's HL7 v2 ADT messages."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import subprocess
import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from liaison.ingest.mllp import MLLPServer, use_prepared_statements


class Command(BaseCommand):
    help = "Écoute les messages HL7 v2 ADT (IHE PAM.fr) du GAM en MLLP et répond par un ACK."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="adresse d'écoute (127.0.0.1 par défaut)")
        parser.add_argument("--port", type=int, default=2575, help="port d'écoute (2575 par défaut)")
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="processus d'écoute sur le même port (1 par défaut ; un par cœur pour plusieurs connexions)",
        )
        parser.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args, **opts) -> None:
        logging.basicConfig(
            level=logging.DEBUG if opts["verbosity"] > 1 else logging.INFO,
            format="%(asctime)s %(name)s %(message)s",
        )
        workers = opts["workers"]
        if workers < 1:
            raise CommandError("--workers doit valoir au moins 1.")
        if workers > 1 and opts["port"] == 0:
            raise CommandError("Plusieurs processus d'écoute exigent un port fixe (--port).")
        reuse = workers > 1 or opts["reuse_port"]
        use_prepared_statements()
        try:
            server = MLLPServer(opts["host"], opts["port"], reuse_port=reuse)
        except OSError as exc:
            raise CommandError(
                f"Écoute impossible sur {opts['host']}:{opts['port']} : {exc.strerror}."
            ) from exc
        host, port = server.address
        children = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "liaison.cli",
                    "mllp",
                    "--host",
                    host,
                    "--port",
                    str(port),
                    "--reuse-port",
                ],
                env=os.environ.copy(),
                stdout=subprocess.DEVNULL,
            )
            for _ in range(workers - 1)
        ]

        def stop(signum: int, frame: object) -> None:
            sys.exit(0)

        signal.signal(signal.SIGTERM, stop)
        if not opts["reuse_port"]:
            procs = f" ({workers} processus)" if workers > 1 else ""
            self.stdout.write(f"Écoute MLLP sur {host}:{port}{procs} (Ctrl-C pour arrêter).")
            self.stdout.flush()
        try:
            with contextlib.suppress(KeyboardInterrupt):
                server.serve_forever()
        finally:
            for child in children:
                child.terminate()
            for child in children:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(timeout=10)
        if not opts["reuse_port"]:
            self.stdout.write("Écoute MLLP arrêtée.")
