"""Every `liaison` command given bad arguments: a French message on stderr, exit status 1, no traceback.

Each case runs `liaison.cli.main` (the entry point of the `liaison` script) in this process on
the test database; one case runs the installed script itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management.base import CommandParser
from django.db import connection, connections

from liaison import cli

pytestmark = pytest.mark.django_db

MISSING = "absent-{tmp}.xml"
PERIOD = ["--from", "2026-01-01", "--to", "2026-01-31"]

CASES = [
    (["nope"], "Commande inconnue : « nope »"),
    (["indicators", "--proof", "NOPE", "--out", "{tmp}/x.xlsx"], "Indicateur inconnu : NOPE"),
    (["indicators", "--from", "2026-13-01", "--to", "2026-01-02"], "« 2026-13-01 » n'est pas une date"),
    (["indicators", "--from", "2026-01-01"], "Précisez --from et --to ensemble"),
    (["indicators", "--format", "xml"], "--format : choix inconnu 'xml'"),
    (["indicators", "--bogus"], "argument(s) non reconnu(s) : --bogus"),
    (["indicators", "--definitions", "{tmp}/absent.yaml"], "Fichier de définitions illisible"),
    (["campaign", "figures", "--indicator", "NOPE", "--year", "2023"], "Indicateur inconnu : NOPE"),
    (["campaign", "figures", "--indicator", "X", "--year", "deux"], "'deux' n'est pas un nombre entier"),
    (["campaign", "evaluate", "--campaign", "999"], "Campagne n° 999 introuvable"),
    (["campaign", "import", "{tmp}/absent.xlsx"], "Fichier introuvable"),
    (
        ["campaign", "target", "--indicator", "X", "--year", "2023", "--weights", "{tmp}/absent.yaml"],
        "Fichier des pondérations illisible",
    ),
    (["campaign", "attributes", "{tmp}/absent.csv"], "Fichier des attributs illisible"),
    (["campaign", "profile", "--finess", "000000000", "--out", "{tmp}/p.pdf"], "FINESS 000000000 absent"),
    (["campaign"], "argument(s) obligatoire(s) manquant(s) : ACTION"),
    (["export", "--letter", "99999", "--out", "{tmp}/out"], "Lettre 99999 introuvable"),
    (["export", "--letter", "abc", "--out", "{tmp}/out"], "'abc' n'est pas un nombre entier"),
    (["export-all", "--out", "/proc/liaison-interdit"], "Dossier de sortie impossible à créer"),
    (["validate", "{tmp}/absent.xml"], "absent.xml : Fichier introuvable"),
    (["validate"], "argument(s) obligatoire(s) manquant(s) : files"),
    (["audit", "--letters", "{tmp}/absent"], "Dossier introuvable"),
    (["audit", "--letters", "{tmp}/vide"], "Aucun fichier CDA (*.xml)"),
    (["audit", "--sector", "XYZ", *PERIOD], "Pas de grille QLS par défaut pour le secteur"),
    (["audit", "--grid", "nope", *PERIOD], "Grille « nope » introuvable"),
    (["audit"], "Précisez --sector (ou --grid), --from et --to"),
    (["digital-indicators", "--year", "1999", "--month", "2026-01"], "Année sans définition"),
    (["digital-indicators", "--year", "2024", "--month", "2026-13"], "Mois illisible : « 2026-13 »"),
    (["verify-documents", "--letter", "1"], "argument(s) non reconnu(s) : --letter 1"),
    (["ifaq", "--year", "1999", "--input", "{tmp}/ifaq.csv"], "Pas de paramètres IFAQ pour 1999"),
    (["ifaq", "--year", "2023", "--input", "{tmp}/absent.csv"], "Fichier IFAQ illisible"),
    (["digital-indicators", "--year", "2019", "--month", "2024-10"], "Année sans définition"),
    (["digital-indicators", "--year", "2024", "--month", "10-2024"], "Mois illisible"),
    (["digital-indicators", "--month", "2024-10"], "obligatoire"),
    (["import-hl7", "{tmp}/absent.hl7"], "Fichier introuvable"),
    (["import-adt", "{tmp}/absent.hl7"], "Fichier introuvable"),
    (["adt-replay", "--file", "{tmp}/absent.hl7"], "Fichier introuvable"),
    (["adt-replay", "--dry-run"], "--dry-run demande --out FICHIER"),
    (["deliveries", "--state", "nope"], "--state : choix inconnu 'nope'"),
    (["mllp", "--port", "99999"], "« 99999 » n'est pas un port"),
    (["mail-sandbox", "--maildir", "/proc/liaison-interdit"], "Dossier de sortie impossible à créer"),
    (["dmp-sandbox"], "Magasin de confiance absent"),
    (["dmp-sandbox", "--trust", "{tmp}/absent.pem"], "Magasin de confiance illisible"),
    (["dmp-sandbox", "--port", "-1"], "« -1 » n'est pas un port"),
    (["demo", "--addr", "nope"], "« nope » n'est pas une adresse HÔTE:PORT"),
    (["read-acks", "--once"], "Aucune boîte à lire"),
    (["worker", "--metrics", "nope"], "--metrics attend HÔTE:PORT"),
    (["demo-data", "--stays", "5"], "La base contient déjà un établissement"),
]


@pytest.fixture
def run_cli(hospital, tmp_path, monkeypatch, capsys):
    """`liaison ARGS…` in this process, on a database with one establishment: (exit status, stderr)."""
    monkeypatch.setattr(CommandParser, "error", CommandParser.error)  # cli.main patches it
    monkeypatch.setattr(connections, "close_all", lambda: None)  # keep the test's transaction
    for var in ("LIAISON_MSS_IMAP", "LIAISON_MSS_MAILDIR_ACKS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LIAISON_DEBUG", os.environ.get("LIAISON_DEBUG", "0"))  # `demo` sets it
    (tmp_path / "vide").mkdir()
    (tmp_path / "ifaq.csv").write_text("finess,group,ve,indicator,result,previous_result\n")
    monkeypatch.chdir(tmp_path)

    def run(args: list[str]) -> tuple[int, str]:
        argv = ["liaison", *(a.format(tmp=tmp_path) for a in args)]
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_:
            cli.main(argv)
        return exit_.value.code, capsys.readouterr().err

    return run


@pytest.mark.parametrize(("args", "french"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_bad_arguments_are_refused_in_french(run_cli, args, french):
    status, err = run_cli(args)
    assert status == 1, err
    assert french in err
    assert "Traceback" not in err and "Erreur inattendue" not in err


def test_the_installed_script_answers_in_french(tmp_path):
    s = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}",
    }
    script = Path(sys.executable).parent / "liaison"
    for args, french in (
        (["campaign", "figures", "--indicator", "NOPE", "--year", "2023"], "Indicateur inconnu : NOPE"),
        (["indicators", "--from", "hier", "--to", "2026-01-02"], "« hier » n'est pas une date"),
    ):
        done = subprocess.run([str(script), *args], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 1 and french in done.stderr and "Traceback" not in done.stderr
