"""The DMP sandbox trusts only its trust store and bounds what it reads (security review,
finding 10): a VIHF sealed by an unknown self-signed certificate is refused, the command wants
`--trust`, an oversized request gets 413 without being read."""

from __future__ import annotations

import http.client
import socket
from urllib.parse import urlsplit

import pytest
from django.core.management import CommandError, call_command

from liaison.delivery import dmp, vihf, worker
from liaison.delivery.config import DmpConfig
from liaison.delivery.models import Delivery
from liaison.demo.management.commands.demo import background
from liaison.demo.sandboxes.dmp.server import MAX_REQUEST_BYTES
from tests.delivery.test_dmp import _sign, sandbox  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def test_a_token_sealed_by_an_unknown_self_signed_certificate_is_refused(
    hospital,
    sandbox,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    box, url = sandbox
    box.patients.ins.add(hospital["patient"].ins_matricule)
    stranger = vihf.generate_self_signed("Établissement inconnu")
    (tmp_path / "cert.pem").write_bytes(stranger.cert_pem)
    (tmp_path / "key.pem").write_bytes(stranger.key_pem)
    monkeypatch.setenv("LIAISON_DMP_URL", url)
    monkeypatch.setenv("LIAISON_DMP_CERT", str(tmp_path / "cert.pem"))
    monkeypatch.setenv("LIAISON_DMP_KEY", str(tmp_path / "key.pem"))
    monkeypatch.setattr(worker, "_SENDERS", {})
    dmp.configure(DmpConfig.from_env())
    letter = _sign(hospital)
    worker.run_once("w1")
    d = Delivery.objects.get(letter=letter, channel="dmp")
    assert d.state == Delivery.State.GIVEN_UP  # a seal the DMP refuses: no retry can fix it
    assert "Établissement inconnu" in d.last_error and "n'est pas reconnu" in d.last_error
    assert box.store.stats()["documents"] == 0


def test_the_command_requires_a_trust_store(tmp_path):
    with pytest.raises(CommandError, match="Magasin de confiance absent : donnez --trust"):
        call_command("dmp_sandbox", "--port", "0", "--store", str(tmp_path / "s"))


def test_the_demo_gives_the_sandbox_the_authority_of_its_seal(monkeypatch):
    monkeypatch.delenv("LIAISON_DMP_CERT", raising=False)
    command = dict(background({"mllp_port": 1, "dmp_port": 2, "mail_port": 3}))
    sandbox_args = next(args for args in command.values() if args[0] == "dmp-sandbox")
    trust = sandbox_args[sandbox_args.index("--trust") + 1]
    assert trust == str(vihf.demo_authority())
    seal = vihf.load_credentials().certificate
    assert seal.issuer == vihf.x509.load_pem_x509_certificate(vihf.demo_authority().read_bytes()).subject


def _post(url: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, str, bool]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.putrequest("POST", "/")
    for k, v in headers.items():
        conn.putheader(k, v)
    conn.endheaders()
    if body:
        conn.send(body)
    resp = conn.getresponse()
    text = resp.read().decode()
    closed = resp.getheader("Connection") == "close"
    conn.close()
    return resp.status, text, closed


def test_an_oversized_request_is_refused_without_being_read(sandbox):  # noqa: F811
    _, url = sandbox
    status, text, closed = _post(
        url, {"Content-Type": "multipart/related", "Content-Length": str(MAX_REQUEST_BYTES + 1)}
    )
    assert status == 413 and closed
    assert text == f"Requête trop volumineuse : {MAX_REQUEST_BYTES + 1} octets, {MAX_REQUEST_BYTES} au plus."
    status, text, _ = _post(url, {"Content-Length": "-5"})
    assert status == 400 and "Content-Length invalide" in text


def test_a_silent_client_does_not_hold_a_thread_forever(sandbox, monkeypatch):  # noqa: F811
    from liaison.demo.sandboxes.dmp import server

    monkeypatch.setattr(server.Handler, "timeout", 0.5)
    _, url = sandbox
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n")  # the body never comes
        assert sock.recv(100) == b""  # closed by the sandbox
