"""`liaison serve [--addr HOST:PORT]`: the production web server (gunicorn, static files by WhiteNoise).

Refuses to start, in French with exit status 1, without `LIAISON_SECRET_KEY` or
`LIAISON_ALLOWED_HOSTS`, or with `DEBUG` on. Collects the static files, runs Django's checks,
then replaces itself with gunicorn (signals from systemd reach gunicorn directly).
"""

from __future__ import annotations

import os
import re
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

ADDR = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(?P<port>\d{1,5})$")
# Beyond these, a typo rather than a choice.
MAX_WORKERS = 64
MAX_TIMEOUT = 3600


def refusal(addr: str) -> str | None:
    """Why production cannot start in this environment, in French; None when it can."""
    if not os.environ.get("LIAISON_SECRET_KEY", "").strip():
        return (
            "LIAISON_SECRET_KEY n'est pas définie : Liaison refuse de démarrer en production sans clé "
            "secrète (au moins 50 caractères aléatoires, par exemple "
            "« python3 -c 'import secrets; print(secrets.token_urlsafe(50))' »)."
        )
    if not os.environ.get("LIAISON_ALLOWED_HOSTS", "").strip():
        return (
            "LIAISON_ALLOWED_HOSTS n'est pas définie : indiquez le ou les noms d'hôte sous lesquels "
            "Liaison est servi (par exemple « liaison.chu-exemple.fr »), séparés par des virgules."
        )
    if settings.DEBUG:
        return "LIAISON_DEBUG=1 : le mode débogage est interdit en production, retirez cette variable."
    match = ADDR.match(addr)
    if not match or not 1 <= int(match["port"]) <= 65535:
        return f"Adresse d'écoute invalide : « {addr[:80]} » (attendu HÔTE:PORT, par exemple 127.0.0.1:8000)."
    for name, bound in (("LIAISON_WEB_WORKERS", MAX_WORKERS), ("LIAISON_WEB_TIMEOUT", MAX_TIMEOUT)):
        value = os.environ.get(name, "").strip()
        if value and (not value.isdigit() or not 1 <= int(value) <= bound):
            return f"{name} invalide : « {value[:20]} » (entier de 1 à {bound} attendu)."
    return None


def psc_notice() -> str | None:
    """A warning (not a refusal) when nobody of the health professionals could log in."""
    from liaison.web.authentication import psc_configured

    if psc_configured() or settings.CLINICIAN_PASSWORDS:
        return None
    return (
        "Attention : Pro Santé Connect n'est pas configuré (LIAISON_PSC_CLIENT_ID, "
        "LIAISON_PSC_CLIENT_SECRET, LIAISON_PSC_DISCOVERY_URL) : les professionnels de santé ne "
        "pourront pas se connecter, seuls les administrateurs et les comptes sans RPPS le pourront."
    )


def gunicorn_argv(addr: str) -> list[str]:
    workers = os.environ.get("LIAISON_WEB_WORKERS", "").strip() or str(min(2 * (os.cpu_count() or 1) + 1, 9))
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "liaison.web.wsgi:application",
        "--bind",
        addr,
        "--workers",
        workers,
        "--timeout",
        os.environ.get("LIAISON_WEB_TIMEOUT", "").strip() or "60",
        "--access-logfile",
        "-",
        "--error-logfile",
        "-",
        "--capture-output",
    ]


class Command(BaseCommand):
    help = "Lance l'application web de production (gunicorn, fichiers statiques servis par WhiteNoise)."
    requires_system_checks = []  # run below, after the refusals, with a French reason first

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000", help="adresse d'écoute HÔTE:PORT")

    def handle(self, *args, **opts) -> None:
        reason = refusal(opts["addr"])
        if reason:
            self.stderr.write(f"Démarrage refusé : {reason}")
            sys.exit(1)
        call_command("check", deploy=True, fail_level="ERROR")
        notice = psc_notice()
        if notice:
            self.stderr.write(notice)
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(f"Liaison (production) écoute sur http://{opts['addr']}/ (gunicorn)")
        self.stdout.flush()
        argv = gunicorn_argv(opts["addr"])
        os.execv(argv[0], argv)
