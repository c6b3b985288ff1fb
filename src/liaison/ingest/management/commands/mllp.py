"""`liaison mllp --port 2575 [--workers N]`: the MLLP listener for the hospital's HL7 v2 messages
(ADT from the GAM, ORU^R01 from the laboratory, OMP^O09 / RDE^O11 from the pharmacy)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import socket
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from liaison import cliutil
from liaison.envconfig import ConfigError
from liaison.ingest import dispatch
from liaison.ingest.config import IDLE_TIMEOUT, MAX_CONNECTIONS, Limits, ListenerConfig
from liaison.ingest.mllp import MLLPServer, use_prepared_statements
from liaison.pulse.heartbeat import Beater


class Command(BaseCommand):
    help = (
        "Écoute en MLLP les messages HL7 v2 (ADT IHE PAM.fr du GAM, ORU^R01 du laboratoire, "
        "OMP^O09 et RDE^O11 de la pharmacie) et répond par un ACK."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="adresse d'écoute (127.0.0.1 par défaut)")
        parser.add_argument("--port", type=cliutil.port, default=2575, help="port d'écoute (2575 par défaut)")
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="processus qui intègrent les messages (1 par défaut ; un par cœur pour plusieurs "
            "connexions : chaque connexion va au processus le moins chargé)",
        )
        parser.add_argument(
            "--idle-timeout",
            type=float,
            help=f"secondes sans message avant de fermer une connexion ({IDLE_TIMEOUT:g} par défaut, "
            "0 : jamais ; variable LIAISON_MLLP_IDLE_TIMEOUT)",
        )
        parser.add_argument(
            "--max-connections",
            type=int,
            help=f"connexions servies à la fois, les suivantes sont fermées dès leur arrivée "
            f"({MAX_CONNECTIONS} par défaut, 0 : sans limite ; variable LIAISON_MLLP_MAX_CONNECTIONS)",
        )
        parser.add_argument("--worker-fd", type=int, help=argparse.SUPPRESS)

    def handle(self, *args, **opts) -> None:
        logging.basicConfig(
            level=logging.DEBUG if opts["verbosity"] > 1 else logging.INFO,
            format="%(asctime)s %(name)s %(message)s",
        )
        # Django's debug mode keeps a formatted copy of every statement; the listener has no
        # page to debug, and that copy cost a tenth of its time.
        settings.DEBUG = False
        try:
            config = ListenerConfig.from_env()
        except ConfigError as exc:
            raise CommandError(str(exc)) from exc
        # The options override the environment (the worker processes of --workers get them as options).
        limits = Limits.of(
            (config.limits.idle_timeout or 0) if opts["idle_timeout"] is None else opts["idle_timeout"],
            config.limits.max_connections if opts["max_connections"] is None else opts["max_connections"],
        )
        if opts["worker_fd"] is not None:  # started by a parent `liaison mllp --workers N`
            signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
            use_prepared_statements(config)
            dispatch.work(opts["worker_fd"], limits=limits)
            return
        workers = opts["workers"]
        if workers < 1:
            raise CommandError("--workers doit valoir au moins 1.")
        if workers > 1 and connection.vendor != "postgresql":
            raise CommandError(
                "Plusieurs processus d'écoute exigent PostgreSQL (DATABASE_URL) : SQLite n'accepte "
                "qu'un écrivain à la fois. Lancez « liaison mllp » sans --workers."
            )

        def on_sigterm(signum: int, frame: object) -> None:
            raise KeyboardInterrupt  # the same orderly stop as Ctrl-C

        signal.signal(signal.SIGTERM, on_sigterm)
        try:
            heart = Beater("listener")
            if workers == 1:
                use_prepared_statements(config)
                server = MLLPServer(opts["host"], opts["port"], limits=limits, beat=heart.beat)
                host, port = server.address
            else:
                listener = socket.create_server((opts["host"], opts["port"]), backlog=128)
                host, port = listener.getsockname()[:2]
        except OSError as exc:
            where = f"{opts['host']}:{opts['port']}"
            raise CommandError(f"Écoute impossible sur {where} : {cliutil.os_reason(exc)}.") from exc
        procs = f" ({workers} processus)" if workers > 1 else ""
        self.stdout.write(f"Écoute MLLP sur {host}:{port}{procs} (Ctrl-C pour arrêter).")
        self.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            if workers == 1:
                server.serve_forever()
            else:
                command = [sys.executable, "-m", "liaison.cli", "mllp", "-v", str(opts["verbosity"])]
                with listener:
                    dispatch.serve(listener, workers, command, beat=heart.beat, limits=limits)
        self.stdout.write("Écoute MLLP arrêtée.")
