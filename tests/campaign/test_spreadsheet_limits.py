"""Zip bombs refused before they are read (security review, finding 8): the CLI import and the
web upload, with a French reason. The bombs are generated here, never committed."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from liaison.campaign import spreadsheet_limits as limits
from liaison.campaign.models import ImportBatch
from liaison.campaign.reader import ImportRefused, read_table
from tests.campaign.bombs import lying_directory, xlsx

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    """300 Mio of sheet XML in a file of less than 2 Mio."""
    path = xlsx(tmp_path_factory.mktemp("bomb") / "resultats-recueil2024.xlsx", padding=300 * MIB)
    assert path.stat().st_size < 2 * MIB
    return path


def test_an_inflated_size_over_the_limit_is_refused_before_reading(bomb):
    with pytest.raises(ImportRefused) as caught:
        read_table(bomb)
    message = str(caught.value)
    assert "une fois décompressé, le classeur occuperait 300 Mio (limite 100 Mio)" in message


def test_a_directory_that_lies_about_the_size_is_caught(tmp_path):
    path = lying_directory(xlsx(tmp_path / "menteur-2024.xlsx", padding=120 * MIB), declared=2_000)
    with pytest.raises(ImportRefused, match="classeur corrompu"):
        read_table(path)


def test_rows_are_counted_before_reading(tmp_path):
    far = b'<row r="1048576"><c r="A1048576"><v>1</v></c></row>'
    with pytest.raises(ImportRefused, match="trop de lignes : 1048576 \\(limite 100000\\)"):
        read_table(xlsx(tmp_path / "loin-2024.xlsx", rows=far))
    wide = b'<row r="90000"><c r="ZZ90000"><v>1</v></c></row>'
    with pytest.raises(ImportRefused, match="trop étendue : 90000 lignes × 702 colonnes"):
        read_table(xlsx(tmp_path / "large-2024.xlsx", rows=wide))
    many = b"".join(b'<row r="%d"><c r="A%d"><v>1</v></c></row>' % (i, i) for i in range(2, 100_003))
    with pytest.raises(ImportRefused, match="trop de lignes : 100002"):
        read_table(xlsx(tmp_path / "long-2024.xlsx", rows=many))


def test_a_csv_over_the_limits_is_refused(tmp_path):
    path = tmp_path / "long-2024.csv"
    path.write_text("finess_geo\n" + "010000024\n" * (limits.MAX_ROWS + 1))
    with pytest.raises(ImportRefused, match="trop de lignes"):
        read_table(path)
    big = tmp_path / "gros-2024.csv"
    with big.open("wb") as fh:
        fh.truncate(limits.MAX_FILE_BYTES + 1)
    with pytest.raises(ImportRefused, match="fichier trop volumineux"):
        read_table(big)


def test_a_real_has_file_passes_the_checks(esatis_files):
    header, rows = read_table(esatis_files[2024])
    assert "finess_geo" in header and len(rows) > 1000


@pytest.mark.django_db
def test_the_cli_refuses_the_bomb_in_french(bomb, capsys):
    with pytest.raises(CommandError, match="Import refusé : 1 erreur"):
        call_command("campaign", "import", str(bomb), "--year", "2024")
    assert "le classeur occuperait 300 Mio" in capsys.readouterr().err
    assert not ImportBatch.objects.exists()


@pytest.mark.django_db
def test_the_web_upload_refuses_the_bomb_in_french(client, campaign_user, bomb):
    client.force_login(campaign_user)
    upload = SimpleUploadedFile(bomb.name, bomb.read_bytes())
    page = client.post(reverse("campaign:import"), {"file": upload}, follow=True).content.decode()
    assert "Import refusé, rien n&#x27;a été importé : 1 erreur(s)." in page
    assert "le classeur occuperait 300 Mio (limite 100 Mio)" in page
    assert not ImportBatch.objects.exists()
