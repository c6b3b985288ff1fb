"""One corpus of malformed inputs, run against every command and endpoint that reads a file or a
request body: each answers in French and exits 1 (or 4xx), without a traceback, nothing stored.

Readers: `liaison validate`, `liaison audit --letters`, `liaison import-hl7` (and its old name
`import-adt`), `liaison campaign import`, the API's JSON bodies, the campaign upload page and the
DMP sandbox's ITI-41 endpoint. The 50 Mo input is generated in a temporary folder, never committed.
"""

from __future__ import annotations

import http.client
import json
import random
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import CommandParser
from django.db import connections
from django.urls import reverse

from liaison import cli
from liaison.campaign.models import ImportBatch
from liaison.delivery import iti41, vihf
from liaison.demo.sandboxes.dmp import Sandbox, StaticPatients, Store, start
from liaison.ingest.models import InboundMessage
from liaison.letters import lifecycle
from liaison.paths import ldl_ses_dir

pytestmark = pytest.mark.django_db

_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&lol9;</title></ClinicalDocument>
"""
_EXTERNAL = (
    b'<?xml version="1.0"?>\n<!DOCTYPE ClinicalDocument [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
    b'<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&x;</title></ClinicalDocument>\n'
)
BIG = 50 * 1024 * 1024

# name → what a reader of XML must say (each reader frames it with the file or part it read)
XML_REASONS = {
    "vide": "est vide",
    "tronque": "n'est pas un XML bien formé",
    "binaire": "n'est pas un XML bien formé",
    "milliard-de-rires": "déclare une DTD",
    "entite-externe": "déclare une DTD",
    "imbrication-profonde": "éléments imbriqués sur plus de 256 niveaux",
    "json-imbrique": "n'est pas un XML bien formé",
    "50-mo": "trop volumineux",
}
NAMES = list(XML_REASONS)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("corpus")
    example = (ldl_ses_dir() / "ExemplesCDA/LDL-SES_2022.01.xml").read_bytes()
    data = {
        "vide": b"",
        "tronque": example[: len(example) // 2],
        "binaire": random.Random(20).randbytes(64 * 1024),
        "milliard-de-rires": _LAUGHS,
        "entite-externe": _EXTERNAL,
        "imbrication-profonde": b"<a>" * 100_000 + b"</a>" * 100_000,
        "json-imbrique": b"[" * 100_000 + b"]" * 100_000,
    }
    paths = {}
    for name, content in data.items():
        (paths.setdefault(name, folder / f"{name}.xml")).write_bytes(content)
    big = folder / "50-mo.xml"
    with big.open("wb") as fh:  # a well-formed document of 50 Mo: only its size is wrong
        fh.write(b'<?xml version="1.0"?><ClinicalDocument xmlns="urn:hl7-org:v3">')
        chunk = b"<text>" + b"x" * (1024 * 1024 - 13) + b"</text>"
        for _ in range(BIG // len(chunk) + 1):
            fh.write(chunk)
        fh.write(b"</ClinicalDocument>")
    paths["50-mo"] = big
    return paths


@pytest.fixture
def liaison(monkeypatch, capsys):
    """`liaison ARGS…` through the script's entry point: (exit status, stderr)."""
    monkeypatch.setattr(CommandParser, "error", CommandParser.error)  # cli.main patches it
    monkeypatch.setattr(connections, "close_all", lambda: None)  # keep the test's transaction

    def run(*args: str) -> tuple[int, str]:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_:
            cli.main(["liaison", *args])
        return exit_.value.code, capsys.readouterr().err

    return run


def _french_without_traceback(err: str) -> None:
    assert "Traceback" not in err and "Erreur inattendue" not in err


# --- commands -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_validate(corpus, liaison, name):
    status, err = liaison("validate", str(corpus[name]))
    assert status == 1 and f"{corpus[name]} : Le fichier" in err and XML_REASONS[name] in err, err
    _french_without_traceback(err)


@pytest.mark.parametrize("name", NAMES)
def test_audit_of_cda_files(corpus, liaison, tmp_path, name):
    folder = tmp_path / "lettres"
    folder.mkdir()
    (folder / f"{name}.xml").symlink_to(corpus[name])
    status, err = liaison("audit", "--letters", str(folder))
    assert status == 1 and XML_REASONS[name] in err and "1 fichier(s) CDA illisible(s) sur 1" in err, err
    _french_without_traceback(err)


@pytest.mark.parametrize("command", ["import-hl7", "import-adt"])
@pytest.mark.parametrize("name", NAMES)
def test_hl7_batch_import(corpus, liaison, command, name):
    status, err = liaison(command, str(corpus[name]))
    expected = {"vide": "fichier vide, aucun message HL7", "50-mo": "trop volumineux"}
    assert status == 1 and expected.get(name, "refusé") in err, err
    _french_without_traceback(err)
    assert not InboundMessage.objects.filter(outcome=InboundMessage.Outcome.ACCEPTED).exists()


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
@pytest.mark.parametrize("name", NAMES)
def test_campaign_import(corpus, liaison, tmp_path, suffix, name):
    path = tmp_path / f"resultats-recueil2024{suffix}"
    path.symlink_to(corpus[name])
    status, err = liaison("campaign", "import", str(path))
    assert status == 1 and "Import refusé" in err and "rien n'a été importé" in err, err
    _french_without_traceback(err)
    assert not ImportBatch.objects.exists()


# --- web and API --------------------------------------------------------------------------------


JSON_REASONS = {
    "vide": (422, "corps de requête JSON absent"),
    "tronque": (400, "n'est pas un JSON valide"),
    "binaire": (400, "n'est pas un texte UTF-8"),
    "milliard-de-rires": (400, "n'est pas un JSON valide"),
    "entite-externe": (400, "n'est pas un JSON valide"),
    "imbrication-profonde": (400, "n'est pas un JSON valide"),
    "json-imbrique": (400, "imbriqué sur plus de 32 niveaux"),
    "50-mo": (413, "trop volumineux"),
}


@pytest.mark.parametrize("name", NAMES)
def test_api_json_bodies(corpus, client, hospital, name):
    letter = lifecycle.open_letter(hospital["stay"])
    client.force_login(hospital["users"]["medecin"])
    body = corpus[name].read_bytes()
    for method in (client.put, client.post):
        url = f"/api/letters/{letter.pk}" if method == client.put else f"/api/letters/{letter.pk}/hand-over"
        resp = method(url, body, content_type="application/json")
        status, reason = JSON_REASONS[name]
        assert resp.status_code == status, resp.content[:300]
        assert resp["Content-Type"].startswith("application/json")
        detail = resp.json()["detail"]
        assert reason in (detail if isinstance(detail, str) else " ".join(d["msg"] for d in detail))
    letter.refresh_from_db()
    assert letter.revision == 1  # nothing saved


@pytest.fixture
def campaign_user(db):
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user("campagne.corpus", password="x")
    user.groups.add(Group.objects.get_or_create(name="campagne")[0])
    return user


@pytest.mark.parametrize("name", NAMES)
def test_campaign_upload_page(corpus, client, campaign_user, name):
    client.force_login(campaign_user)
    upload = SimpleUploadedFile("resultats-recueil2024.xlsx", corpus[name].read_bytes())
    resp = client.post(reverse("campaign:import"), {"file": upload}, follow=True)
    page = resp.content.decode()
    assert resp.status_code == 200
    assert ("Import refusé, rien n&#x27;a été importé" in page) or ("Fichier trop volumineux" in page)
    assert not ImportBatch.objects.exists()


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    box = Sandbox(
        Store(tmp_path_factory.mktemp("dmp")), StaticPatients(), [vihf.demo_authority().read_bytes()]
    )
    server, _ = start(box)
    yield box, server.url
    server.shutdown()
    server.server_close()


def _post(url: str, content_type: str, body: bytes, length: int | None = None) -> tuple[int, str]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    conn.putrequest("POST", "/")
    conn.putheader("Content-Type", content_type)
    conn.putheader("Content-Length", str(len(body) if length is None else length))
    conn.endheaders()
    if body:
        conn.send(body)
    resp = conn.getresponse()
    text = resp.read().decode("utf-8", "replace")
    conn.close()
    return resp.status, text


@pytest.mark.parametrize("name", NAMES)
def test_dmp_sandbox_iti41_endpoint(corpus, sandbox, name):
    box, url = sandbox
    before = box.store.stats()
    if name == "50-mo":  # refused on its Content-Length, before a byte of the body is read
        status, text = _post(url, "multipart/related; boundary=x", b"", length=corpus[name].stat().st_size)
        assert status == 413 and "Requête trop volumineuse" in text
        return
    payload = corpus[name].read_bytes()
    # As the SOAP envelope of a well-framed MTOM request: the XML reader answers.
    content_type, body = iti41.mtom(payload, [], iti41.ACTION)
    status, text = _post(url, content_type, body)
    assert status == 400 and "Fault" in text, text[:300]
    assert "L'enveloppe SOAP" in text.replace("&#39;", "'") and XML_REASONS[name] in text, text[:500]
    # As the whole body, unframed: the MTOM reader answers.
    status, text = _post(url, "multipart/related; boundary=x", payload)
    assert status == 400 and "Fault" in text, text[:300]
    assert box.store.stats()["documents"] == before["documents"] == 0
    json.dumps(text)  # the answer is text, whatever came in
