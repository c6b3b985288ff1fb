"""`liaison worker [--once]`: send due deliveries (DMP, MSSanté); several workers may run."""

from __future__ import annotations

import contextlib

from django.core.management.base import BaseCommand, CommandParser

from liaison.delivery import worker


class Command(BaseCommand):
    help = "Envoie les lettres en attente (DMP, MSSanté) ; --once traite ce qui est dû puis s'arrête."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true")
        parser.add_argument("--poll", type=float, default=1.0, help="attente entre deux passages (s)")

    def handle(self, *args, **o) -> None:
        worker.configure()
        if o["once"]:
            n = worker.run_once()
            self.stdout.write(f"{n} envoi(s) traité(s).")
            return
        self.stdout.write(f"Envoi des lettres : {worker.worker_name()} (Ctrl-C pour arrêter)")
        with contextlib.suppress(KeyboardInterrupt):
            worker.run_forever(o["poll"])
