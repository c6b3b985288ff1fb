"""`liaison demo-data --stays N --seed S`: create the synthetic demo hospital.

The letters signed before today are sent for real to the demo's DMP and MSSanté sandboxes kept
under `--sandboxes` (default `var/`, where `liaison demo` serves them): see `liaison.demo.history`."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from liaison import cliutil
from liaison.delivery.models import Delivery
from liaison.demo.clinical_feeds import feed_stays
from liaison.demo.hospital import account_lines, generate
from liaison.letters.models import Establishment


class Command(BaseCommand):
    help = "Crée un hôpital fictif de démonstration (patients synthétiques, INS de test)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--stays", type=int, default=300, help="nombre de séjours (défaut 300)")
        parser.add_argument("--seed", type=int, default=1, help="graine : même graine, mêmes données")
        parser.add_argument(
            "--today",
            type=dt.date.fromisoformat,
            default=None,
            help="date de référence AAAA-MM-JJ (défaut : aujourd'hui)",
        )
        parser.add_argument(
            "--sandboxes",
            type=Path,
            default=Path("var"),
            help="dossier des bacs à sable DMP et MSSanté de la démonstration, où l'historique est "
            "envoyé (défaut : var)",
        )
        parser.add_argument(
            "--no-sandboxes",
            action="store_true",
            help="ne rien envoyer : l'historique porte seulement les états des envois",
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="ne rien faire si un établissement existe déjà"
        )

    def handle(self, *args, **opts) -> None:
        if Establishment.objects.exists():
            if opts["if_empty"]:
                self.stdout.write("Données déjà présentes : rien à faire.")
                return
            raise CommandError("La base contient déjà un établissement ; utilisez une base vide.")
        if opts["stays"] < 1:
            raise CommandError("--stays doit être au moins 1.")
        t0 = time.perf_counter()
        sandboxes = None if opts["no_sandboxes"] else cliutil.make_dir(opts["sandboxes"].resolve())
        summary = generate(opts["stays"], opts["seed"], opts["today"], sandboxes)
        elapsed = time.perf_counter() - t0
        self.stdout.write(
            f"{summary.establishment.name} : {summary.stays} séjours, {summary.letters} lettres "
            f"en {elapsed:.1f} s."
        )
        if summary.history is not None:
            states = dict(Delivery.State.choices)
            counted = ", ".join(f"{n} {states[s].lower()}" for s, n in sorted(summary.history.items()))
            self.stdout.write(
                f"Historique envoyé aux bacs à sable DMP et MSSanté ({sandboxes}) : "
                f"{counted or 'aucun envoi'}."
            )
        t0 = time.perf_counter()
        outcomes = feed_stays(summary.establishment)
        self.stdout.write(
            f"Dossiers cliniques : {sum(outcomes.values())} messages HL7 (biologie, pharmacie, codage), "
            f"{outcomes.get('accepted', 0)} intégrés, {outcomes.get('refused', 0)} refusés, "
            f"en {time.perf_counter() - t0:.1f} s."
        )
        self.stdout.write("\n".join(account_lines()))
