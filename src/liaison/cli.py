"""The `liaison` command: Django's management commands plus Liaison's own.

`liaison migrate`, `liaison createsuperuser`, `liaison demo-data --stays 500 --seed 1`,
`liaison serve` (production web server)…
Hyphenated names map to the underscored command modules (`demo-data` → `demo_data`).
Every command reads `DATABASE_URL`.

Every error reads in French on stderr with exit status 1, never a traceback: an unknown
command, argparse's usage errors (translated by `liaison.cliutil.french_usage`), a command's
`CommandError`, a wrong LIAISON_* setting (`liaison.envconfig.ConfigError`, however deep it was
read), and, as a last resort, any other exception (an `OSError` with its path and
reason; anything else named, with `--traceback` to see where it came from).
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn


def _french_usage_errors() -> None:
    """argparse's usage errors in French, exit status 1 (Django's parser exits with 2, in English)."""
    from django.core.management.base import CommandError, CommandParser

    from liaison.cliutil import french_usage

    def error(self: CommandParser, message: str) -> NoReturn:
        text = french_usage(message)
        if not getattr(self, "called_from_command_line", True):
            raise CommandError(f"Erreur : {text}")
        prog = self.prog.replace("_", "-")
        self.exit(1, f"{prog} : {text}.\nAide : {prog} --help\n")

    CommandParser.error = error  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liaison.web.settings")
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
    if len(argv) > 1 and argv[1] == "demo":
        os.environ.setdefault("LIAISON_DEBUG", "1")  # the demo only: error pages with details
        os.environ.setdefault("LIAISON_CLINICIAN_PASSWORDS", "1")  # demo users log in by password
    argv[0] = "liaison"
    from django.core.management import ManagementUtility, get_commands

    class Utility(ManagementUtility):
        def fetch_command(self, subcommand: str):  # type: ignore[no-untyped-def]
            if subcommand not in get_commands():  # Django would say it in English
                name = subcommand.replace("_", "-")
                sys.stderr.write(f"Commande inconnue : « {name} ». La liste : liaison help.\n")
                sys.exit(1)
            return super().fetch_command(subcommand)

    _french_usage_errors()
    try:
        Utility(argv).execute()
    except Exception as exc:
        if "--traceback" in argv:
            raise
        from liaison.cliutil import os_reason
        from liaison.envconfig import ConfigError

        if isinstance(exc, OSError):
            sys.stderr.write(f"Erreur : {os_reason(exc)}.\n")
        elif isinstance(exc, ConfigError):  # a wrong LIAISON_* read by the settings or a loop
            sys.stderr.write(f"Erreur : {exc}\n")
        else:
            sys.stderr.write(
                f"Erreur inattendue ({type(exc).__name__}) : {exc}\n"
                "Relancez la commande avec --traceback pour voir où elle s'est produite.\n"
            )
        sys.exit(1)


if __name__ == "__main__":
    main()
