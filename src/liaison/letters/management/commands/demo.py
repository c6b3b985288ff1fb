"""`liaison demo`: migrate, seed the demo hospital if empty, start the background pieces and
the web app, print the URL and the demo accounts (what `make run` calls)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from liaison.letters.demo import DEMO_PASSWORD, demo_accounts
from liaison.letters.models import Establishment


def background(opts: dict) -> list[tuple[str, list[str]]]:
    """Long-running pieces started beside the web app: (label, liaison subcommand arguments).

    Other parts of Liaison add theirs here (delivery worker, DMP and mail sandboxes).
    """
    return [
        (
            f"écoute MLLP des messages ADT (port {opts['mllp_port']})",
            ["mllp", "--port", str(opts["mllp_port"])],
        ),
    ]


class Command(BaseCommand):
    help = "Lance la démonstration : base, hôpital fictif, services d'arrière-plan et application web."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000", help="adresse d'écoute du serveur web")
        parser.add_argument("--stays", type=int, default=300)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--mllp-port", type=int, default=2575, help="port du récepteur HL7 (MLLP)")

    def handle(self, *args, **opts) -> None:
        call_command("migrate", verbosity=0)
        if not Establishment.objects.exists():
            self.stdout.write("Création de l'hôpital de démonstration…")
            call_command("demo_data", stays=opts["stays"], seed=opts["seed"], stdout=self.stdout)
        procs = []
        for label, cmd in background(opts):
            self.stdout.write(f"Démarrage : {label}")
            procs.append(subprocess.Popen([sys.executable, "-m", "liaison.cli", *cmd], env=os.environ.copy()))
        self.stdout.write("")
        self.stdout.write(f"Liaison est prêt : http://{opts['addr']}/")
        self.stdout.write(f"Comptes de démonstration (mot de passe « {DEMO_PASSWORD} ») :")
        for username, role, units in demo_accounts():
            self.stdout.write(f"  {username:<14} {role:<30} {units}")
        self.stdout.write("")
        # On SIGTERM, unwind through `finally` so the background pieces stop with the demo.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            call_command("runserver", opts["addr"], use_reloader=False)
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(timeout=10)
