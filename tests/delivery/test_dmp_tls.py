"""The DMP channel over HTTPS with mutual TLS, as the real DMP requires: the sandbox serves HTTPS
with a server certificate from a test authority and requires the establishment's certificate."""

from __future__ import annotations

import pytest
from django.utils import timezone

from liaison import signing
from liaison.delivery import dmp, vihf, worker
from liaison.delivery.config import DmpConfig
from liaison.delivery.models import Delivery
from liaison.demo.sandboxes.dmp import Sandbox, StaticPatients, Store, start
from liaison.demo.sandboxes.dmp.server import tls_context
from liaison.letters import lifecycle
from tests.conftest import complete_content_updates
from tests.delivery.mailpeers import make_ca, make_cert

pytestmark = pytest.mark.django_db


@pytest.fixture
def pki(tmp_path):
    make_ca(tmp_path)
    server = make_cert(tmp_path, "dmp", "127.0.0.1", "serverAuth", san="IP:127.0.0.1")
    establishment = make_cert(tmp_path, "etablissement", "CH de Test", "clientAuth")
    return tmp_path / "ca.pem", server, establishment


@pytest.fixture
def https_sandbox(tmp_path, pki):
    ca, (cert, key), _ = pki
    # The establishment's certificate seals the VIHF too: the test authority is trusted for both.
    box = Sandbox(
        Store(tmp_path / "dmp"), StaticPatients(), [vihf.demo_authority().read_bytes(), ca.read_bytes()]
    )
    server, _ = start(box, tls=tls_context(cert, key, client_ca=ca))
    yield box, server.url
    server.shutdown()
    server.server_close()


def _use(monkeypatch, url: str, **env: str) -> None:
    monkeypatch.setenv("LIAISON_DMP_URL", url)
    for name in ("LIAISON_DMP_CERT", "LIAISON_DMP_KEY", "LIAISON_DMP_CA"):
        if name in env:
            monkeypatch.setenv(name, env[name])
        else:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(worker, "_SENDERS", {})
    dmp.configure(DmpConfig.from_env())


def _signed_letter(hospital):
    stay = hospital["stay"]
    stay.discharge_at = timezone.now()
    stay.save()
    letter = lifecycle.open_letter(stay)
    content = letter.parsed().model_copy(update=complete_content_updates())
    lifecycle.save_draft(letter.pk, content, letter.revision, hospital["users"]["medecin"])
    return signing.sign(letter.pk, hospital["users"]["medecin"])


def test_filed_over_mutual_tls_and_refusals_are_retried(hospital, https_sandbox, pki, monkeypatch):
    box, url = https_sandbox
    assert url.startswith("https://")
    box.patients.ins.add(hospital["patient"].ins_matricule)
    ca, _, (cert, key) = pki
    letter = _signed_letter(hospital)
    d = Delivery.objects.get(letter=letter, channel="dmp")

    # No establishment certificate: the DMP side refuses the connection; kept and retried.
    _use(monkeypatch, url, LIAISON_DMP_CA=str(ca))
    worker.run_once("w1")
    d.refresh_from_db()
    assert d.state == Delivery.State.FAILED and d.next_attempt_at > timezone.now()
    assert "Échec de la connexion TLS au DMP" in d.last_error, d.last_error
    assert "LIAISON_DMP_CERT" in d.last_error and "Nouvel essai prévu" in d.last_error

    # The server's certificate is not from a trusted authority: refused by Liaison itself.
    Delivery.objects.filter(pk=d.pk).update(next_attempt_at=timezone.now())
    _use(monkeypatch, url, LIAISON_DMP_CERT=str(cert), LIAISON_DMP_KEY=str(key))
    worker.run_once("w1")
    d.refresh_from_db()
    assert d.state == Delivery.State.FAILED
    assert "Échec de la connexion TLS au DMP" in d.last_error and "LIAISON_DMP_CA" in d.last_error

    # Both right: filed, acknowledged, the VIHF sealed with the same certificate.
    Delivery.objects.filter(pk=d.pk).update(next_attempt_at=timezone.now())
    _use(monkeypatch, url, LIAISON_DMP_CERT=str(cert), LIAISON_DMP_KEY=str(key), LIAISON_DMP_CA=str(ca))
    worker.run_once("w1")
    d.refresh_from_db()
    assert d.state == Delivery.State.DELIVERED and d.attempts == 3, d.last_error
    (doc,) = box.store.documents(hospital["patient"].ins_matricule)
    assert doc["uniqueId"] == letter.document_oid


def test_the_command_wants_certificate_and_key_together(pki, tmp_path):
    from django.core.management import CommandError, call_command

    _, (cert, _key), _ = pki
    with pytest.raises(CommandError, match="--tls-cert et --tls-key vont ensemble"):
        call_command(
            "dmp_sandbox",
            "--port",
            "0",
            "--store",
            str(tmp_path / "s"),
            "--trust",
            str(cert),
            "--tls-cert",
            str(cert),
        )
