"""`liaison import-adt FILE`: a batch file, on PostgreSQL and on the demo's SQLite file."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from liaison.ingest.models import InboundMessage
from liaison.letters.models import Stay
from tests.ingest.messages import adt


def _batch(*messages: str) -> str:
    """A batch file as GAMs write them: LF line ends, blank lines between messages."""
    return "\n\n".join(m.replace("\r", "\n") for m in messages) + "\n"


@pytest.mark.django_db
def test_import_file(hospital, tmp_path: Path):
    path = tmp_path / "adt.hl7"
    path.write_text(
        _batch(
            adt("A01", "B1"),
            adt("A02", "B2", unit="MATER"),
            adt("A03", "B3", unit="MATER", discharge="202611141500", zfm="|8"),
            adt("A01", "B1"),  # sent twice
        ),
        encoding="utf-8",
    )
    out = io.StringIO()
    call_command("import_adt", str(path), stdout=out)
    assert "4 message(s) — 3 intégré(s), 1 doublon(s), 0 refusé(s)." in out.getvalue()
    stay = Stay.objects.get(visit_number="NDA100")
    assert stay.unit.code == "MATER" and stay.exit_mode == "domicile"
    assert set(InboundMessage.objects.values_list("source", flat=True)) == {"fichier"}


@pytest.mark.django_db
def test_import_reports_refusals_in_french(hospital, tmp_path: Path):
    path = tmp_path / "adt.hl7"
    path.write_text(_batch(adt("A03", "R1", discharge="202611141500"), adt("A01", "R2")), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 message\\(s\\) refusé\\(s\\)"):
        call_command("import_adt", str(path), stdout=out, stderr=err)
    assert "message 1 (MSH-10 R1, ADT^A03) refusé (AE) : Séjour inconnu" in err.getvalue()
    assert "1 intégré(s), 0 doublon(s), 1 refusé(s)" in out.getvalue()
    with pytest.raises(CommandError, match="Fichier introuvable"):
        call_command("import_adt", str(tmp_path / "absent.hl7"))


def test_import_on_the_demo_sqlite_file(tmp_path: Path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}"}

    def liaison(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "liaison.cli", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )

    assert liaison("migrate", "-v", "0").returncode == 0
    seeded = liaison("demo-data", "--stays", "5")
    assert seeded.returncode == 0, seeded.stderr
    path = tmp_path / "adt.hl7"
    path.write_text(
        _batch(
            adt("A01", "Q1", ipp="SQL-1", nda="SQL-NDA-1"),
            adt("A03", "Q2", ipp="SQL-1", nda="SQL-NDA-1", discharge="202611141500"),
        )
    )
    done = liaison("import-adt", str(path))
    assert done.returncode == 0, done.stderr
    assert "2 message(s) — 2 intégré(s), 0 doublon(s), 0 refusé(s)." in done.stdout
