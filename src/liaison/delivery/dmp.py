"""The DMP channel: file a signed letter version in the patient's DMP (IHE XDS.b ITI-41 + VIHF).

`configure(config)` registers the sender for channel `dmp` when `LIAISON_DMP_URL` is set
(`config.DmpConfig`, read by `liaison worker`):
- `LIAISON_DMP_URL`: the repository endpoint, e.g. `http://127.0.0.1:8091/` (the sandbox) or an
  `https://` URL (mutual TLS with `LIAISON_DMP_CERT` / `LIAISON_DMP_KEY`, server checked against
  `LIAISON_DMP_CA`, else the system CAs);
- `LIAISON_DMP_CERT` / `LIAISON_DMP_KEY`: PEM certificate and key of the establishment, which also
  sign the VIHF (a throw-away pair is generated when absent, for the demo);
- `LIAISON_DMP_TIMEOUT` (seconds, default 30), `LIAISON_DMP_HOMOLOGATION` (DMP approval number),
  `LIAISON_DMP_RESPONSABLE` (the VIHF's responsible, default the legal authenticator).

The metadata come from `xds_metadata.submit_objects_request` (shared with the MSSanté XDM). The
registry response is the DMP's acknowledgement: Success → sent, then delivered. A retry that finds
the document already registered (same uniqueId, identical content) counts as success.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
from urllib.parse import urlsplit

from liaison.delivery import iti41, outbox, vihf, worker
from liaison.delivery import xds_metadata as xds
from liaison.delivery.config import DmpConfig
from liaison.delivery.models import Delivery
from liaison.letters.models import Letter

FACILITY_SCHEME = "1.2.250.1.71.4.2.4"  # TRE_R02-SecteurActivite (Secteur_Activite of the VIHF)


class TransportError(Exception):
    """The DMP could not be reached or did not answer; the message is French."""


class Transport:
    """HTTP(S) POST with one kept-alive connection per thread."""

    def __init__(self, config: DmpConfig) -> None:
        parts = urlsplit(config.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"LIAISON_DMP_URL invalide : {config.url!r} (http:// ou https:// attendu).")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.timeout = config.timeout
        self.context: ssl.SSLContext | None = None
        if self.https:
            self.context = ssl.create_default_context(cafile=config.ca)
            if config.cert and config.key:
                self.context.load_cert_chain(config.cert, config.key)
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self.https:
                conn = http.client.HTTPSConnection(
                    self.host, self.port, timeout=self.timeout, context=self.context
                )
            else:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            conn.connect()
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def post(self, content_type: str, body: bytes) -> tuple[int, str, bytes]:
        headers = {"Content-Type": content_type, "SOAPAction": f'"{iti41.ACTION}"'}
        for attempt in (1, 2):
            reused = getattr(self._local, "conn", None) is not None
            try:
                conn = self._connection()
                conn.request("POST", self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self.close()
                return resp.status, resp.getheader("Content-Type", ""), data
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()
                if reused and attempt == 1:
                    continue  # the kept-alive connection had been closed by the peer: once more
                raise TransportError(f"Connexion au DMP interrompue ({exc}). Nouvel essai prévu.") from exc
            except TimeoutError as exc:
                self.close()
                raise TransportError(
                    f"Le DMP n'a pas répondu dans le délai ({self.timeout:g} s). Nouvel essai prévu."
                ) from exc
            except ssl.SSLError as exc:
                self.close()
                raise TransportError(
                    f"Échec de la connexion TLS au DMP ({exc.reason or exc}) : vérifiez le certificat de "
                    "l'établissement (LIAISON_DMP_CERT / LIAISON_DMP_KEY) et l'autorité du serveur "
                    "(LIAISON_DMP_CA). Nouvel essai prévu."
                ) from exc
            except OSError as exc:  # refused, unreachable, DNS…
                self.close()
                raise TransportError(
                    f"Le DMP est injoignable ({self.host}:{self.port} : {exc.strerror or exc}). "
                    "Nouvel essai prévu."
                ) from exc
        raise AssertionError("unreachable")


def _slot_value(sor, name: str) -> str:  # type: ignore[no-untyped-def]
    found = sor.xpath(f".//rim:Slot[@name='{name}']/rim:ValueList/rim:Value/text()", namespaces=iti41.NS)
    return str(found[0]) if found else ""


def _patient_id(sor) -> str:  # type: ignore[no-untyped-def]
    found = sor.xpath(
        f".//rim:ExternalIdentifier[@identificationScheme='{xds.DE_PATIENT_ID}']/@value", namespaces=iti41.NS
    )
    return str(found[0]) if found else ""


class DmpSender:
    def __init__(self, config: DmpConfig) -> None:
        self.config = config
        self.transport = Transport(config)
        self.credentials = vihf.load_credentials(config.cert, config.key)

    def build(self, delivery: Delivery) -> iti41.Request:
        """The ITI-41 request of a delivery (raises XdsMetadataError / VihfError)."""
        letter = (
            Letter.objects.select_related("document", "replaces")
            .defer("document__pdf")  # the DMP gets the CDA only
            .get(pk=delivery.letter_id)
        )
        content = letter.parsed()
        cda = bytes(letter.document.cda)
        establishment = content.establishment
        ids = xds.DocumentIds(
            unique_id=letter.document_oid,
            submission_set_unique_id=delivery.submission_oid,
            source_id=xds.source_id_for(establishment.finess_eg or establishment.finess_ej),
        )
        replaces = letter.replaces.document_oid if letter.replaces_id else None
        sor = xds.submit_objects_request(content, ids, cda, replaces)
        institution = _slot_value(sor, "authorInstitution")
        legal = _slot_value(sor, "legalAuthenticator")
        ctx = vihf.VihfContext(
            structure_id=institution.rsplit("^", 1)[-1],
            sector=f"{establishment.facility_type_code}^{FACILITY_SCHEME}",
            patient_cx=_patient_id(sor),
            responsible_id=self.config.responsible or legal.split("^", 1)[0],
            homologation=self.config.homologation,
        )
        token = vihf.signed_vihf(ctx, self.credentials)
        attachment = iti41.Attachment(xds.entry_uuid_for(letter.document_oid), cda)
        return iti41.provide_and_register(sor, [attachment], self.config.url, token)

    def __call__(self, delivery: Delivery) -> outbox.SendResult:
        try:
            request = self.build(delivery)
        except (xds.XdsMetadataError, vihf.VihfError) as exc:
            return outbox.SendResult(False, f"Envoi au DMP impossible : {exc}", retry=False)
        try:
            status, content_type, body = self.transport.post(request.content_type, request.body)
        except TransportError as exc:
            return outbox.SendResult(False, str(exc), retry=True)
        try:
            answer = iti41.parse_answer(content_type, body)
        except iti41.FramingError as exc:
            retry = status >= 500 or status < 400
            return outbox.SendResult(
                False,
                f"Réponse du DMP illisible (HTTP {status}) : {exc}"
                + (" Nouvel essai prévu." if retry else ""),
                retry=retry,
            )
        result = iti41.outcome(answer, status)
        if result.ok:  # the registry response is the DMP's acknowledgement
            return outbox.SendResult(
                True,
                f"Versé au DMP (lot {delivery.submission_oid}).",
                acknowledgement=f"Accusé d'enregistrement du DMP : {result.detail}",
            )
        return outbox.SendResult(False, result.detail, retry=result.retry)


def configure(config: DmpConfig | None) -> None:
    """Register the DMP sender when the DMP is configured (`DmpConfig.from_env()`)."""
    if config is None:
        return
    worker.register(Delivery.Channel.DMP, DmpSender(config))
