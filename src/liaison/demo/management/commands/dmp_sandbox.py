"""`liaison dmp-sandbox --port P --trust CERT [--store DIR] [--patients FILE]`: the loopback DMP.

`--trust` (required, repeatable) is the trust store of the VIHF seal: an authority's certificate
or a seal certificate itself; a token signed by any other certificate is refused.

Patients: by default the sandbox knows every INS of the Liaison database it reads through
Django (same DATABASE_URL), as if each of them had an open DMP; `--patients FILE` (one INS
matricule a line) replaces that list. `--tls-cert/--tls-key` serve HTTPS; `--client-ca` also
requires the establishment's certificate (mutual TLS, as the DMP does).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import ssl
import subprocess
import sys
import tempfile
from pathlib import Path

from cryptography import x509
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection

from liaison import cliutil
from liaison.demo.sandboxes.dmp import Sandbox, StaticPatients, Store, start
from liaison.demo.sandboxes.dmp.server import tls_context


class DatabasePatients:
    """Every INS matricule known to Liaison has a DMP (positive answers are cached).

    One database connection per sandbox thread, i.e. per kept-alive client connection."""

    def __init__(self) -> None:
        self._known: set[str] = set()

    def known(self, ins: str) -> bool:
        if ins in self._known:
            return True
        from liaison.letters.models import Patient

        try:
            found = Patient.objects.filter(ins_matricule=ins).exists()
        except DatabaseError:  # a connection dropped by the server: once more on a new one
            connection.close()
            found = Patient.objects.filter(ins_matricule=ins).exists()
        if found:
            self._known.add(ins)
        return found


class Command(BaseCommand):
    help = "Bac à sable DMP : destinataire XDS.b (ITI-41) local avec la vue « Mon espace santé »."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=cliutil.port, default=8091)
        parser.add_argument("--store", type=Path, help="dossier des documents reçus (temporaire sinon)")
        parser.add_argument("--patients", type=Path, help="fichier d'INS connus, un par ligne")
        parser.add_argument(
            "--workers", type=int, default=1, help="processus servant le même port (SO_REUSEPORT)"
        )
        parser.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
        parser.add_argument(
            "--trust",
            type=Path,
            action="append",
            help="magasin de confiance des jetons VIHF, obligatoire : certificat (PEM) d'une autorité "
            "ou d'un cachet accepté (répétable)",
        )
        parser.add_argument("--tls-cert", type=Path, help="HTTPS : certificat du serveur (PEM)")
        parser.add_argument("--tls-key", type=Path, help="HTTPS : clé privée du serveur (PEM)")
        parser.add_argument(
            "--client-ca",
            type=Path,
            help="TLS mutuel : autorité des certificats d'établissement exigés des clients (PEM)",
        )

    def handle(self, *args, **o) -> None:
        folder = cliutil.make_dir(o["store"]) if o["store"] else Path(tempfile.mkdtemp(prefix="liaison-dmp-"))
        try:
            patients = StaticPatients.from_file(o["patients"]) if o["patients"] else DatabasePatients()
        except (OSError, UnicodeDecodeError) as exc:
            reason = cliutil.os_reason(exc) if isinstance(exc, OSError) else "ce n'est pas un texte UTF-8"
            raise CommandError(f"Fichier des patients illisible : {reason}.") from exc
        if not o["trust"]:
            raise CommandError(
                "Magasin de confiance absent : donnez --trust CERT.pem (l'autorité, ou le certificat de "
                "cachet, des jetons VIHF acceptés). Comme le DMP, le bac à sable refuse un jeton signé "
                "par un certificat inconnu."
            )
        try:
            trusted = [p.read_bytes() for p in o["trust"]]
            for pem in trusted:
                x509.load_pem_x509_certificate(pem)
        except (OSError, ValueError) as exc:
            reason = cliutil.os_reason(exc) if isinstance(exc, OSError) else "certificat PEM attendu"
            raise CommandError(f"Magasin de confiance illisible : {reason}.") from exc
        sandbox = Sandbox(Store(folder), patients, trusted_certs=trusted)
        sandbox.cda_check  # noqa: B018 — load the ANS validator before the first request
        if o["workers"] < 1:
            raise CommandError("--workers doit valoir au moins 1.")
        if o["workers"] > 1 and o["port"] == 0:
            raise CommandError("--workers demande un --port fixe.")
        reuse = o["workers"] > 1 or o["reuse_port"]
        tls = None
        if o["tls_cert"] or o["tls_key"] or o["client_ca"]:
            if not (o["tls_cert"] and o["tls_key"]):
                raise CommandError("HTTPS : --tls-cert et --tls-key vont ensemble.")
            try:
                tls = tls_context(o["tls_cert"], o["tls_key"], o["client_ca"])
            except (OSError, ssl.SSLError) as exc:
                raise CommandError(f"HTTPS : certificat, clé ou autorité illisible ({exc}).") from exc
        try:
            server, thread = start(sandbox, o["host"], o["port"], reuse_port=reuse, tls=tls)
        except OSError as exc:
            where = f"{o['host']}:{o['port']}"
            raise CommandError(f"Écoute impossible sur {where} : {cliutil.os_reason(exc)}.") from exc
        children = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "liaison.cli",
                    "dmp-sandbox",
                    "--reuse-port",
                    *self._same_options(o, folder),
                ],
                stdout=subprocess.DEVNULL,
            )
            for _ in range(o["workers"] - 1)
        ]
        who = f"fichier {o['patients']}" if o["patients"] else "base Liaison"
        self.stdout.write(
            f"Bac à sable DMP sur {server.url} (documents : {folder} ; patients : {who})\n"
            f"  ITI-41 : POST {server.url}\n  Documents : {server.url}documents\n"
            f"  Mon espace santé : {server.url}patient/<INS>"
        )
        signal.signal(signal.SIGTERM, lambda *_: server.shutdown())
        with contextlib.suppress(KeyboardInterrupt):
            thread.join()
        server.shutdown()
        for child in children:
            child.terminate()
        for child in children:
            child.wait(10)

    @staticmethod
    def _same_options(o: dict, folder: Path) -> list[str]:
        out = ["--host", o["host"], "--port", str(o["port"]), "--store", str(folder)]
        if o["patients"]:
            out += ["--patients", str(o["patients"])]
        for cert in o["trust"] or []:
            out += ["--trust", str(cert)]
        for name in ("tls_cert", "tls_key", "client_ca"):
            if o[name]:
                out += ["--" + name.replace("_", "-"), str(o[name])]
        return out
