"""`liaison demo`: migrate, seed the demo hospital if empty, start the background pieces and
the web app, print the URL and the demo accounts (what `make run` calls)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from liaison import cliutil
from liaison.demo import history as demo_history
from liaison.demo.hospital import account_lines
from liaison.letters.models import Establishment
from liaison.web.config import DemoConfig


def background(opts: dict) -> list[tuple[str, list[str]]]:
    """Long-running pieces started beside the web app: (label, liaison subcommand arguments)."""
    var = Path.cwd() / "var"
    return [
        (
            f"écoute MLLP des messages ADT (port {opts['mllp_port']})",
            ["mllp", "--port", str(opts["mllp_port"])],
        ),
        (
            f"bac à sable DMP (port {opts['dmp_port']})",
            [
                "dmp-sandbox",
                "--port",
                str(opts["dmp_port"]),
                "--store",
                str(var / "dmp-sandbox"),
                "--trust",
                str(seal_trust_store()),
            ],
        ),
        (
            f"bac à sable MSSanté (port {opts['mail_port']})",
            ["mail-sandbox", "--port", str(opts["mail_port"]), "--maildir", str(var / "mail")],
        ),
        ("envoi des lettres (DMP, MSSanté)", ["worker"]),
        ("lecture des accusés MSSanté", ["read-acks", "--poll", "3"]),
    ]


def seal_trust_store() -> Path:
    """What the demo's DMP sandbox trusts: the seal the worker signs with (LIAISON_DMP_CERT),
    else the authority of the demo seal (the same as for the history `demo-data` sends)."""
    return demo_history.trust_store()


def demo_environment(opts: dict) -> dict[str, str]:
    """How the worker, the acknowledgement reader and the web app find the loopback peers."""
    var = Path.cwd() / "var"
    return {
        "LIAISON_DMP_URL": f"http://127.0.0.1:{opts['dmp_port']}/",
        "LIAISON_DMP_SANDBOX_URL": f"http://127.0.0.1:{opts['dmp_port']}/",
        "LIAISON_MSS_SMTP": f"smtp://127.0.0.1:{opts['mail_port']}",
        "LIAISON_MSS_MAILDIR": str(var / "mail"),
        "LIAISON_DEMO_MAILBOXES": "1",  # the web app shows the sandbox's mailboxes (web/mailboxes.py)
        "LIAISON_MSS_MAILDIR_ACKS": str(var / "mail"),
    }


class Command(BaseCommand):
    help = "Lance la démonstration : base, hôpital fictif, services d'arrière-plan et application web."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--addr", type=cliutil.address, default="127.0.0.1:8000", help="adresse d'écoute du serveur web"
        )
        parser.add_argument("--stays", type=int, default=300)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--mllp-port", type=cliutil.port, default=2575, help="port du récepteur HL7 (MLLP)"
        )
        parser.add_argument("--dmp-port", type=cliutil.port, default=8091, help="port du bac à sable DMP")
        parser.add_argument(
            "--mail-port", type=cliutil.port, default=2525, help="port du bac à sable MSSanté (SMTP)"
        )

    def handle(self, *args, **opts) -> None:
        call_command("migrate", verbosity=0)
        if not Establishment.objects.exists():
            self.stdout.write("Création de l'hôpital de démonstration…")
            call_command(
                "demo_data",
                stays=opts["stays"],
                seed=opts["seed"],
                sandboxes=Path.cwd() / "var",  # the history goes where the sandboxes below serve it
                stdout=self.stdout,
            )
        for key, value in demo_environment(opts).items():
            os.environ.setdefault(key, value)  # inherited by the background pieces
        # the web app runs here, its settings read before: it reads the demo's peers again
        settings.LIAISON_DEMO = DemoConfig.from_env()
        (Path.cwd() / "var" / "mail").mkdir(parents=True, exist_ok=True)
        procs = []
        for label, cmd in background(opts):
            self.stdout.write(f"Démarrage : {label}")
            procs.append(subprocess.Popen([sys.executable, "-m", "liaison.cli", *cmd], env=os.environ.copy()))
        self.stdout.write("")
        self.stdout.write(f"Liaison est prêt : http://{opts['addr']}/")
        self.stdout.write("\n".join(account_lines()))
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
