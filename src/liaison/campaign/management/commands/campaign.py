"""`liaison campaign …`: import HAS open data, figures, targeting, profile PDF, evaluation.

liaison campaign import FICHIER [--year 2024] [--family esatis-ssr]
liaison campaign import-opendata                      (the HAS files shipped on this machine)
liaison campaign figures --indicator ESATIS_SMR_GLOBAL --year 2024 [--by region|department]
liaison campaign target --indicator ESATIS_SMR_GLOBAL --year 2023 [--region R] [--weights F.yaml] [--save NOM]
liaison campaign attributes FICHIER.csv [--source "…"]
liaison campaign profile --finess 010000198 --out profil.pdf
liaison campaign evaluate --campaign ID [--indicator C] [--year 2024]
liaison campaign mappings
"""

from __future__ import annotations

import time
from pathlib import Path

import yaml
from django.core.management.base import BaseCommand, CommandError, CommandParser

from liaison import cliutil
from liaison.campaign import services
from liaison.campaign.mapping import mappings
from liaison.campaign.models import Campaign, Establishment
from liaison.campaign.reader import ImportRefused
from liaison.campaign.stats import fr

ATTRIBUTES_MAX_BYTES = 5 * 1024 * 1024  # one line per establishment: a few hundred Kio at most


class Command(BaseCommand):
    help = "Campagne CPAM / ARS : données ouvertes HAS, ciblage, profils, évaluation."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        p = sub.add_parser("import", help="importe un fichier de résultats HAS (XLSX ou CSV)")
        p.add_argument("file", type=Path)
        p.add_argument("--year", type=int, default=None, help="année de recueil (défaut : lue dans le nom)")
        p.add_argument("--family", default=None, help="famille de fichier (défaut : reconnue à l'en-tête)")
        sub.add_parser("import-opendata", help="importe les fichiers HAS présents sur ce poste")
        p = sub.add_parser("figures", help="chiffres nationaux et régionaux d'un indicateur")
        p.add_argument("--indicator", required=True)
        p.add_argument("--year", type=int, required=True)
        p.add_argument("--by", choices=["region", "department"], default="region")
        p = sub.add_parser("target", help="pré-ciblage et score régional")
        p.add_argument("--indicator", action="append", required=True, help="répétable")
        p.add_argument("--year", type=int, required=True)
        p.add_argument("--region", default="")
        p.add_argument("--weights", type=Path, default=None, help="YAML des pondérations")
        p.add_argument("--save", metavar="NOM", default="", help="enregistre la campagne sous ce nom")
        p.add_argument("--top", type=int, default=20)
        p = sub.add_parser("attributes", help="importe les attributs (numérique, parcours, CPTS) d'un CSV")
        p.add_argument("file", type=Path)
        p.add_argument("--source", default="")
        p = sub.add_parser("profile", help="profil PDF d'un établissement")
        p.add_argument("--finess", required=True)
        p.add_argument("--out", type=Path, required=True)
        p = sub.add_parser("evaluate", help="évaluation avant / après d'une campagne")
        p.add_argument("--campaign", type=int, required=True)
        p.add_argument("--indicator", default=None)
        p.add_argument("--year", type=int, default=None)
        sub.add_parser("mappings", help="familles de fichiers déclarées")

    def handle(self, *args, **o) -> None:
        action = o["action"].replace("-", "_")
        try:
            getattr(self, f"do_{action}")(o)
        except ImportRefused as exc:
            for e in exc.errors:
                self.stderr.write(str(e))
            raise CommandError(f"Import refusé : {len(exc.errors)} erreur(s), rien n'a été importé.") from exc
        except (ValueError, Establishment.DoesNotExist, Campaign.DoesNotExist) as exc:
            raise CommandError(str(exc)) from exc

    def _import(self, path: Path, year: int | None = None, family: str | None = None) -> None:
        if not path.is_file():
            raise CommandError(f"Fichier introuvable : {path}")
        t0 = time.perf_counter()
        batch = services.import_file(path, year, family)
        self.stdout.write(
            f"{path.name} : famille {batch.family}, recueil {batch.year}, {batch.rows} établissements, "
            f"{batch.results} résultats en {time.perf_counter() - t0:.2f} s."
        )
        for w in batch.warnings:
            self.stdout.write(f"  ℹ {w}")

    def do_import(self, o: dict) -> None:
        self._import(o["file"], o["year"], o["family"])

    def do_import_opendata(self, o: dict) -> None:
        files = services.opendata_files()
        if not files:
            raise CommandError("Aucun fichier HAS trouvé dans le dossier opendata.")
        for f in files:
            self._import(f)

    def do_figures(self, o: dict) -> None:
        f = services.figures(o["indicator"], o["year"])
        n = f.national
        w = self.stdout.write
        w(f"{f.indicator.label} — recueil {f.year}")
        w(
            f"National : moyenne pondérée {fr(n.weighted_mean, 2)} "
            f"({n.total_weight} {f.indicator.weight_label}), "
            f"moyenne simple {fr(n.mean, 2)}, quartiles {fr(n.q1)} / {fr(n.median)} / {fr(n.q3)}, "
            f"{n.n_valued} établissements avec résultat sur {n.n_establishments}"
        )
        if n.share_satisfactory is not None:
            w(f"Niveau satisfaisant : {fr(100 * n.share_satisfactory)} % ({n.n_satisfactory}/{n.n_classed})")
        w("Classes : " + ", ".join(f"{k} {v}" for k, v in n.classes.items()))
        groups = f.regions if o["by"] == "region" else f.departments
        w(f"{'':<28} {'n':>4} {'pondérée':>9} {'simple':>7} {'Q1':>6} {'méd.':>6} {'Q3':>6} {'satisf.':>8}")
        for k, s in groups.items():
            share = fr(100 * s.share_satisfactory) + " %" if s.share_satisfactory is not None else "—"
            w(
                f"{k[:28]:<28} {s.n_valued:>4} {fr(s.weighted_mean, 2):>9} {fr(s.mean, 2):>7} {fr(s.q1):>6} "
                f"{fr(s.median):>6} {fr(s.q3):>6} {share:>8}"
            )

    def do_target(self, o: dict) -> None:
        config = None
        if o["weights"]:
            text = cliutil.read_text(o["weights"], "Fichier des pondérations", max_bytes=1024 * 1024)
            try:
                config = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                raise CommandError(
                    f"Fichier des pondérations {o['weights']} : YAML invalide ({exc})."
                ) from exc
        result = services.run_targeting(o["indicator"], o["year"], config, o["region"])
        w = self.stdout.write
        w(
            "Moyennes nationales pondérées : "
            + ", ".join(f"{k} {fr(v, 2)}" for k, v in result.national.items())
        )
        w(
            f"{result.n_considered} établissements considérés : {len(result.ranked)} pré-ciblés, "
            f"{result.n_above} au-dessus, {result.n_without_value} sans résultat."
        )
        for r in result.ranked[: o["top"]]:
            w(
                f"{r.rank:>3}. {r.candidate.name} ({r.candidate.finess}, {r.candidate.region}) "
                f"— score {fr(r.score)}"
            )
            for reason in r.reasons:
                w(f"       {reason}")
        if o["save"]:
            c = services.save_campaign(o["save"], o["indicator"], o["year"], config, o["region"])
            w(f"Campagne « {c.name} » enregistrée (n° {c.pk}, {c.targets.count()} établissements).")

    def do_attributes(self, o: dict) -> None:
        text = cliutil.read_text(o["file"], "Fichier des attributs", max_bytes=ATTRIBUTES_MAX_BYTES)
        n = services.import_attributes(text, o["source"])
        self.stdout.write(f"{n} établissements mis à jour.")

    def do_profile(self, o: dict) -> None:
        from liaison.campaign.profile_pdf import render_profile_pdf

        try:
            p = services.profile(o["finess"])
        except Establishment.DoesNotExist as exc:
            raise CommandError(f"FINESS {o['finess']} absent des données importées.") from exc
        cliutil.write_bytes(o["out"], render_profile_pdf(p))
        self.stdout.write(f"Profil de {p['establishment'].name} écrit dans {o['out']}.")

    def do_evaluate(self, o: dict) -> None:
        try:
            campaign = Campaign.objects.get(pk=o["campaign"])
        except Campaign.DoesNotExist:
            known = ", ".join(f"{c.pk} ({c.name})" for c in Campaign.objects.order_by("pk")[:20])
            hint = f"enregistrées : {known}" if known else "aucune : voir « liaison campaign target --save »"
            raise CommandError(f"Campagne n° {o['campaign']} introuvable ({hint}).") from None
        ev = services.evaluate_campaign(campaign, o["indicator"], o["year"])
        r = ev.result
        w = self.stdout.write
        w(f"{campaign.name} — {ev.indicator.label}, {ev.year_before} → {ev.year_after}")
        for g in (r.targeted, r.control, r.comparable):
            w(
                f"  {g.label:<42} n={g.n:<5} avant {fr(g.before, 2):>6} après {fr(g.after, 2):>6} "
                f"évolution {fr(g.change, 2):>6}"
            )
        if r.did is not None:
            ci = f" (IC 95 % {fr(r.did_ci[0], 2)} à {fr(r.did_ci[1], 2)})" if r.did_ci else ""
            w(f"Différence de différences (ciblés − non ciblés) : {fr(r.did, 2)} point(s){ci}")
        if r.did_comparable is not None:
            ci = (
                f" (IC 95 % {fr(r.did_comparable_ci[0], 2)} à {fr(r.did_comparable_ci[1], 2)})"
                if r.did_comparable_ci
                else ""
            )
            w(
                "Différence de différences (ciblés − non ciblés sous la moyenne) : "
                f"{fr(r.did_comparable, 2)} point(s){ci}"
            )
        if r.n_missing:
            w(f"{r.n_missing} établissement(s) ciblé(s) sans résultat à l'une des deux mesures : exclus.")
        w(r.caveat)

    def do_mappings(self, o: dict) -> None:
        for m in mappings().values():
            self.stdout.write(f"{m.family} ({m.source_file}, {m.status}) : {m.label}")
            for i in m.indicators:
                self.stdout.write(f"  {i.code:<22} {i.value} / {i.weight or '—'} / {i.class_ or '—'}")
