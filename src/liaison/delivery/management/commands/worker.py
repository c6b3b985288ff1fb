"""`liaison worker [--once]`: send due deliveries (DMP, MSSanté); several workers may run."""

from __future__ import annotations

import contextlib

from django.core.management.base import BaseCommand, CommandError, CommandParser
from prometheus_client import start_http_server

from liaison.delivery import worker
from liaison.delivery.config import ConfigError, WorkerConfig


class Command(BaseCommand):
    help = "Envoie les lettres en attente (DMP, MSSanté) ; --once traite ce qui est dû puis s'arrête."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true")
        parser.add_argument("--poll", type=float, default=1.0, help="attente entre deux passages (s)")
        parser.add_argument(
            "--metrics",
            metavar="HÔTE:PORT",
            default=None,
            help="sert les métriques Prometheus de ce processus sur HÔTE:PORT (ex. 127.0.0.1:9101 ; "
            "variable LIAISON_WORKER_METRICS ; aucune par défaut)",
        )

    def handle(self, *args, **o) -> None:
        try:
            config = WorkerConfig.from_env()
        except ConfigError as exc:
            raise CommandError(str(exc)) from exc
        metrics = config.metrics if o["metrics"] is None else o["metrics"]
        worker.configure(config)
        if o["once"]:
            n = worker.run_once(stale=config.stale_claim)
            self.stdout.write(f"{n} envoi(s) traité(s).")
            return
        if metrics:
            host, _, port = metrics.rpartition(":")
            if not port.isdigit():
                raise CommandError(
                    f"--metrics attend HÔTE:PORT (par exemple 127.0.0.1:9101), pas « {metrics} »."
                )
            try:
                server, _ = start_http_server(int(port), addr=host or "127.0.0.1")
            except OSError as exc:
                raise CommandError(f"Métriques : écoute impossible sur {metrics} : {exc.strerror}.") from exc
            bound = server.server_address
            self.stdout.write(f"Métriques Prometheus sur http://{bound[0]}:{bound[1]}/metrics")
        self.stdout.write(f"Envoi des lettres : {worker.worker_name()} (Ctrl-C pour arrêter)")
        self.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            worker.run_forever(o["poll"], stale=config.stale_claim)
