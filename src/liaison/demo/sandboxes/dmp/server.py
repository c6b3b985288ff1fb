"""The sandbox's HTTP side: the ITI-41 endpoint, the JSON list and the patient view.

- `POST /` (any path): ITI-41 over SOAP 1.2 + MTOM; answers a RegistryResponse (MTOM-framed)
  or a SOAP fault (VIHF and framing errors: HTTP 400, as the SOAP 1.2 HTTP binding says);
- `GET /documents[?ins=…]`: JSON list of the documents held; `GET /documents/<uniqueId>`: the CDA;
- `GET /stats`: documents held, transactions accepted, refusals by error code;
- `GET /` and `GET /patient/<ins>`: "Mon espace santé (bac à sable)", French HTML; a patient can
  open a letter (`GET /patient/<ins>/lettre/<uniqueId>`: its PDF shown in the page, as Mon espace
  santé shows a document), download its PDF (`…/pdf`, `?telecharger=1`) or its CDA, and hide it
  from professionals (`POST /patient/<ins>/masquer`). The PDF is the copy the CDA carries, if
  any, otherwise the CDA laid out as the patient's paper copy (`documents.pdf.patient_view_pdf`).

Order of the checks, as the DMP: framing → WS-Addressing → VIHF → XDS.b schema → metadata →
patient known → CDA valid (ANS schema + schematrons) → registry (duplicates, RPLC).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import socket
import ssl
import sys
import threading
from collections.abc import Callable, Iterable
from functools import lru_cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, quote, unquote, urlsplit

from lxml import etree

from liaison.core.paris import PARIS
from liaison.delivery import iti41, vihf
from liaison.delivery.iti41 import NS, RegistryError
from liaison.delivery.xds_metadata import entry_uuid_for
from liaison.demo.sandboxes.dmp import checks
from liaison.demo.sandboxes.dmp.store import STATUS_LABELS, NewDocument, Store
from liaison.documents.xmlsafe import XmlInputError, parse_xml

log = logging.getLogger(__name__)
MAX_REQUEST_BYTES = 10 * 1024 * 1024  # one letter's CDA and PDF weigh a few hundred Kio
CdaCheck = Callable[[bytes], list[str]]  # French error messages; empty = valid


class Patients(Protocol):
    def known(self, ins: str) -> bool: ...


class StaticPatients:
    """A fixed set of INS matricules (from `--patients FILE`, one a line, or given by a test)."""

    def __init__(self, ins: Iterable[str] = ()) -> None:
        self.ins = set(ins)

    @classmethod
    def from_file(cls, path: Path) -> StaticPatients:
        lines = path.read_text(encoding="utf-8").splitlines()
        return cls(line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip())

    def known(self, ins: str) -> bool:
        return ins in self.ins


class AnyPatient:
    def known(self, ins: str) -> bool:
        return True


def default_cda_check() -> CdaCheck:
    """The ANS validation (XSD, schematrons, terminologies) of Liaison, shared with the signature."""
    from liaison.documents.validation import errors

    try:
        from django.apps import apps

        apps.check_apps_ready()
        from liaison.letters.rendering import validator
    except Exception:  # not inside Django: a validator of our own
        from liaison.documents.validation import LdlSesValidator

        own = LdlSesValidator()

        def validator() -> LdlSesValidator:
            return own

    def check(cda: bytes) -> list[str]:
        return [f"{f.message} ({f.location})" for f in errors(validator().validate(cda))]

    validator()  # compile or load the schematrons now (~2 s), not on the first request

    return check


class Refusal(Exception):
    """Stops the checks with a registry answer (errors) or a SOAP fault."""

    def __init__(
        self,
        errors: list[RegistryError] | None = None,
        fault: tuple[str, str, str] | None = None,
        logged: bool = False,
    ):
        super().__init__()
        self.errors = errors or []
        self.fault = fault
        self.logged = logged  # the store has already recorded the transaction


class Sandbox:
    """The DMP's checks. `trusted_certs` is the trust store of the VIHF seal (PEM: authorities
    or the seal certificates themselves); it is required, as the DMP accepts only the IGC
    Santé's seals: an empty list refuses every token."""

    def __init__(
        self,
        store: Store,
        patients: Patients,
        trusted_certs: list[bytes],
        cda_check: CdaCheck | None = None,
    ) -> None:
        self.store = store
        self.patients = patients
        self._cda_check = cda_check
        self._cda_lock = threading.Lock()
        self.trusted = trusted_certs

    @property
    def cda_check(self) -> CdaCheck:
        with self._cda_lock:
            if self._cda_check is None:
                self._cda_check = default_cda_check()
            return self._cda_check

    # --- ITI-41 -------------------------------------------------------------------------------

    def provide_and_register(self, content_type: str, body: bytes) -> tuple[int, str, bytes]:
        """Check and file one request; return (HTTP status, Content-Type, body)."""
        message_id = ""
        try:
            try:
                message = iti41.parse_multipart(content_type, body)
            except iti41.FramingError as exc:
                raise Refusal(fault=("Sender", "", str(exc))) from exc
            if not content_type.lower().startswith("multipart/related"):
                raise Refusal(fault=("Sender", "", "Le DMP exige un envoi MTOM/XOP (multipart/related)."))
            try:
                env = parse_xml(message.root, "L'enveloppe SOAP", max_bytes=MAX_REQUEST_BYTES)
            except XmlInputError as exc:
                raise Refusal(fault=("Sender", "", str(exc))) from exc
            if env.tag != f"{{{iti41.SOAP}}}Envelope":
                raise Refusal(fault=("VersionMismatch", "", "Enveloppe SOAP 1.2 attendue."))
            message_id = (env.findtext("s:Header/wsa:MessageID", "", NS) or "").strip()
            action = (env.findtext("s:Header/wsa:Action", "", NS) or "").strip()
            if action != iti41.ACTION:
                raise Refusal(
                    fault=(
                        "Sender",
                        "wsa:ActionNotSupported",
                        f"Action WS-Addressing {action!r} non prise en charge.",
                    )
                )
            token = self._vihf(env)
            request = env.find("s:Body/xdsb:ProvideAndRegisterDocumentSetRequest", NS)
            if request is None:
                raise Refusal(fault=("Sender", "", "Corps SOAP sans ProvideAndRegisterDocumentSetRequest."))
            try:
                documents = iti41.resolve_xop(request, message.parts)
            except iti41.FramingError as exc:
                raise Refusal(fault=("Sender", "", str(exc))) from exc
            self._file(request, documents, token, message_id)
            reply = iti41.registry_response(relates_to=message_id)
            return self._mtom(200, reply)
        except Refusal as refusal:
            if refusal.fault:
                code, sub, reason = refusal.fault
                status = 400 if code == "Sender" else 500
                self.store.log_refusal(message_id, [RegistryError(sub or code, reason)], [])
                return (
                    status,
                    "application/soap+xml; charset=UTF-8",
                    iti41.soap_fault(code, sub, reason, message_id),
                )
            if not refusal.logged:
                self.store.log_refusal(message_id, refusal.errors, [])
            return self._mtom(200, iti41.registry_response(refusal.errors, relates_to=message_id))

    @staticmethod
    def _mtom(status: int, envelope: bytes) -> tuple[int, str, bytes]:
        content_type, body = iti41.mtom(envelope, [], iti41.RESPONSE_ACTION)
        return status, content_type, body

    def _vihf(self, env: etree._Element) -> vihf.VerifiedVihf:
        assertion = env.find(f"s:Header/wsse:Security/{{{vihf.SAML}}}Assertion", NS)
        if assertion is None:
            raise Refusal(
                fault=("Sender", "wsse:InvalidSecurity", "Jeton VIHF absent (wsse:Security/saml2:Assertion).")
            )
        try:
            return vihf.verify(assertion, self.trusted)
        except vihf.VihfError as exc:
            raise Refusal(fault=("Sender", "wsse:FailedAuthentication", str(exc))) from exc

    def _file(
        self, request: etree._Element, documents: dict[str, bytes], token: vihf.VerifiedVihf, message_id: str
    ) -> None:
        errors = checks.schema_errors(iti41.inline_xop(request, documents))
        if errors:
            raise Refusal(errors)
        sor = request.find("lcm:SubmitObjectsRequest", NS)
        assert sor is not None  # the schema requires it
        sub, errors = checks.check_submission(sor)
        errors += checks.check_documents(sub, documents)
        if errors:
            raise Refusal(errors)
        resource = token.attributes.get(vihf.RESOURCE_ID, "")
        if resource != sub.patient_id:
            raise Refusal(
                [
                    RegistryError(
                        "XDSPatientIdDoesNotMatch",
                        f"Le jeton VIHF porte sur le patient {resource}, la soumission sur {sub.patient_id}.",
                    )
                ]
            )
        structure = token.attributes.get("Identifiant_Structure", "")
        for e in sub.entries.values():
            if structure and not e.author_institution.endswith(f"^{structure}"):
                raise Refusal(
                    [
                        RegistryError(
                            checks.WRONG,
                            f"La structure du jeton VIHF ({structure}) n'est pas l'établissement auteur du "
                            f"document ({e.author_institution}).",
                        )
                    ]
                )
        ins = sub.patient_id.split("^", 1)[0]
        if not self.patients.known(ins):
            errors = [
                RegistryError(
                    "XDSUnknownPatientId",
                    f"Aucun DMP pour l'INS {ins} : patient inconnu (ou DMP fermé).",
                )
            ]
            raise Refusal(errors)
        for e in sub.entries.values():
            cda = documents[e.id]
            errors += checks.check_cda_header(e, cda)
            if not errors:
                errors += [
                    RegistryError("InvalidDocumentContent", message, location=f"DocumentEntry {e.id}")
                    for message in self.cda_check(cda)[:10]
                ]
        if errors:
            raise Refusal(errors)
        new = [
            NewDocument(
                unique_id=e.unique_id,
                entry_uuid=e.id if e.id.startswith("urn:uuid:") else entry_uuid_for(e.unique_id),
                ins=ins,
                patient_id=e.patient_id,
                title=e.title,
                creation_time=e.creation_time,
                author_institution=e.author_institution,
                confidentiality=e.confidentiality,
                content=documents[e.id],
            )
            for e in sub.entries.values()
        ]
        ids = {e.id: n.entry_uuid for e, n in zip(sub.entries.values(), new, strict=True)}
        replacements = [(ids[src], tgt) for src, tgt in sub.replacements]
        errors = self.store.file(new, sub.set_unique_id, replacements, message_id)
        if errors:
            raise Refusal(errors, logged=True)


# --- HTML -------------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,sans-serif;margin:0;background:#f4f6fb;color:#1b1b35}
header{background:#000091;color:#fff;padding:1rem 2rem}header h1{margin:0;font-size:1.4rem}
header p{margin:.3rem 0 0;opacity:.85}main{max-width:60rem;margin:1.5rem auto;padding:0 1rem}
table{width:100%;border-collapse:collapse;background:#fff}th,td{padding:.6rem;border-bottom:1px solid #ddd;
text-align:left;vertical-align:top}.badge{display:inline-block;padding:.1rem .5rem;border-radius:1rem;
font-size:.8rem;background:#e3e3fd}.old{color:#666}.masked{background:#fde3e3}button{cursor:pointer}
iframe.pdf{width:100%;height:80vh;border:1px solid #ddd;background:#fff}
"""


def _page(title: str, body: str) -> bytes:
    return (
        "<!doctype html><html lang='fr'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        "<header><h1>Mon espace santé — bac à sable</h1>"
        "<p>Simulation locale du DMP pour la démonstration de Liaison : aucune donnée réelle.</p></header>"
        f"<main>{body}</main></body></html>"
    ).encode()


def _when(value: str) -> str:
    try:
        if "T" in value:
            at = dt.datetime.fromisoformat(value)
        else:
            at = dt.datetime.strptime(value[:14].ljust(14, "0"), "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
    except ValueError:
        return value
    return at.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M")


def home_page(store: Store) -> bytes:
    rows = "".join(
        f"<tr><td><a href='/patient/{quote(ins)}'>{html.escape(ins)}</a></td><td>{n}</td></tr>"
        for ins, n in store.patients()
    )
    body = (
        "<h2>Patients ayant des documents</h2>"
        + (
            f"<table><tr><th>INS</th><th>Documents</th></tr>{rows}</table>"
            if rows
            else "<p>Aucun document reçu pour l'instant.</p>"
        )
        + "<p><a href='/documents'>Liste JSON des documents</a> · <a href='/stats'>Statistiques</a></p>"
    )
    return _page("DMP bac à sable", body)


def patient_page(store: Store, ins: str) -> bytes:
    docs = [d for d in store.documents(ins) if not d["hidden"]["invisible_to_patient"]]
    docs.sort(key=lambda d: d["submissionTime"], reverse=True)
    rows = []
    for d in docs:
        uid = html.escape(d["uniqueId"])
        current = d["status"] == "Approved"
        status = STATUS_LABELS.get(f"urn:oasis:names:tc:ebxml-regrep:StatusType:{d['status']}", d["status"])
        masked = d["hidden"]["masked_from_professionals"]
        badge = "<span class='badge masked'>Masqué aux professionnels</span>" if masked else ""
        action = "afficher" if d["hidden"]["hidden_by_patient"] else "masquer"
        label = "Rendre visible aux professionnels" if action == "afficher" else "Masquer aux professionnels"
        form = (
            f"<form method='post' action='/patient/{quote(ins)}/{action}'>"
            f"<input type='hidden' name='uniqueId' value='{uid}'><button>{label}</button></form>"
            if current and not (masked and not d["hidden"]["hidden_by_patient"])
            else ""
        )
        rows.append(
            f"<tr class='{'' if current else 'old'}'><td><strong>{html.escape(d['title'])}</strong><br>"
            f"{html.escape(d['authorInstitution'].split('^', 1)[0])}</td>"
            f"<td>{_when(d['creationTime'])}</td><td>{html.escape(status)} {badge}</td>"
            f"<td><a href='{_letter_url(ins, d['uniqueId'])}'>Ouvrir</a> · "
            f"<a href='{_letter_url(ins, d['uniqueId'])}/pdf?telecharger=1'>Télécharger (PDF)</a>"
            f"{form}</td></tr>"
        )
    table = (
        "<table><tr><th>Document</th><th>Date</th><th>État</th><th></th></tr>" + "".join(rows) + "</table>"
        if rows
        else "<p>Aucun document dans votre espace santé.</p>"
    )
    body = f"<h2>Mes documents — INS {html.escape(ins)}</h2>{table}<p><a href='/'>Tous les patients</a></p>"
    return _page(f"Mes documents — {ins}", body)


def _letter_url(ins: str, unique_id: str) -> str:
    return f"/patient/{quote(ins, safe='')}/lettre/{quote(unique_id, safe='')}"


def visible_to_patient(store: Store, ins: str, unique_id: str) -> tuple[dict, bytes] | None:
    """The document, if it is this patient's and not invisible to him (as on his list)."""
    found = store.document(unique_id)
    if found is None or found[0]["ins"] != ins or found[0]["hidden"]["invisible_to_patient"]:
        return None
    return found


@lru_cache(maxsize=32)
def _patient_pdf(cda: bytes) -> bytes | None:
    """The PDF a patient sees (stored documents never change: cached by content)."""
    from liaison.documents.pdf import PdfError, patient_view_pdf
    from liaison.documents.reader import CdaReadError
    from liaison.documents.xmlsafe import XmlInputError

    try:
        return patient_view_pdf(cda)
    except (CdaReadError, PdfError, XmlInputError) as exc:
        log.info("document non affichable en PDF : %s", exc)
        return None


def letter_page(meta: dict, ins: str, viewable: bool) -> bytes:
    url = _letter_url(ins, meta["uniqueId"])
    title = html.escape(meta["title"])
    status = STATUS_LABELS.get(f"urn:oasis:names:tc:ebxml-regrep:StatusType:{meta['status']}", meta["status"])
    head = (
        f"<h2>{title}</h2><p>{html.escape(meta['authorInstitution'].split('^', 1)[0])} · "
        f"{_when(meta['creationTime'])} · {html.escape(status)}</p>"
    )
    if viewable:
        shown = (
            f"<p><a href='{url}/pdf?telecharger=1'>Télécharger le PDF</a> · "
            f"<a href='/documents/{quote(meta['uniqueId'], safe='')}?telecharger=1'>"
            "Télécharger le document structuré (CDA, XML)</a></p>"
            f"<iframe class='pdf' title='{title} (PDF)' src='{url}/pdf'>"
            f"<a href='{url}/pdf'>Ouvrir le PDF</a></iframe>"
        )
    else:
        shown = (
            "<p>Ce document ne peut pas être affiché ici. "
            f"<a href='/documents/{quote(meta['uniqueId'], safe='')}?telecharger=1'>"
            "Télécharger le document structuré (CDA, XML)</a></p>"
        )
    body = f"{head}{shown}<p><a href='/patient/{quote(ins, safe='')}'>Mes documents</a></p>"
    return _page(meta["title"], body)


# --- the HTTP server --------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are two writes: without TCP_NODELAY, Nagle + the client's delayed ACK
    # stall every answer by ~40 ms.
    disable_nagle_algorithm = True
    timeout = 60  # seconds a silent client may hold its thread (headers, body)
    server: SandboxServer

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(30)  # a silent client must not hold the thread forever
            self.request.do_handshake()
            self.request.settimeout(None)
        super().setup()

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _send(self, status: int, content_type: str, body: bytes, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, data: object, status: int = 200) -> None:
        self._send(status, "application/json; charset=utf-8", json.dumps(data, ensure_ascii=False).encode())

    def _read_body(self) -> bytes | None:
        """The request's body, or None after answering a refusal (length missing, invalid or
        over `MAX_REQUEST_BYTES`: the body is not read and the connection is closed)."""
        raw = self.headers.get("Content-Length") or "0"
        length = int(raw) if raw.isdigit() else -1
        if 0 <= length <= MAX_REQUEST_BYTES:
            return self.rfile.read(length) if length else b""
        self.close_connection = True
        if length < 0:
            status, reason = 400, f"En-tête Content-Length invalide : « {raw[:40]} »."
        else:
            status = 413
            reason = f"Requête trop volumineuse : {length} octets, {MAX_REQUEST_BYTES} au plus."
        self._send(status, "text/plain; charset=utf-8", reason.encode(), {"Connection": "close"})
        return None

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        body = self._read_body()
        if body is None:
            return
        parts = [unquote(p) for p in url.path.strip("/").split("/")]
        if len(parts) == 3 and parts[0] == "patient" and parts[2] in ("masquer", "afficher"):
            form = parse_qs(body.decode("utf-8", "replace"))
            uid = (form.get("uniqueId") or [""])[0]
            if not self.server.sandbox.store.set_hidden_by_patient(parts[1], uid, parts[2] == "masquer"):
                self._send(
                    404, "text/html; charset=utf-8", _page("Introuvable", "<p>Document introuvable.</p>")
                )
                return
            self._send(303, "text/plain; charset=utf-8", b"", {"Location": f"/patient/{quote(parts[1])}"})
            return
        status, content_type, reply = self.server.sandbox.provide_and_register(
            self.headers.get("Content-Type", ""), body
        )
        self._send(status, content_type, reply)

    def _patient_letter(self, ins: str, unique_id: str, pdf: bool, query: dict) -> None:
        found = visible_to_patient(self.server.sandbox.store, ins, unique_id)
        rendered = _patient_pdf(found[1]) if found else None
        if found is None or (pdf and rendered is None):
            self._send(404, "text/html; charset=utf-8", _page("Introuvable", "<p>Document introuvable.</p>"))
        elif not pdf:
            self._send(200, "text/html; charset=utf-8", letter_page(found[0], ins, rendered is not None))
        else:
            name = f"lettre-de-liaison-{found[0]['uniqueId']}.pdf"
            how = "attachment" if query.get("telecharger") else "inline"
            self._send(200, "application/pdf", rendered, {"Content-Disposition": f'{how}; filename="{name}"'})

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        store = self.server.sandbox.store
        parts = [unquote(p) for p in url.path.strip("/").split("/")] if url.path.strip("/") else []
        if not parts:
            self._send(200, "text/html; charset=utf-8", home_page(store))
        elif parts == ["documents"]:
            self._json(store.documents((query.get("ins") or [None])[0]))
        elif parts == ["stats"]:
            self._json(store.stats())
        elif len(parts) == 2 and parts[0] == "documents":
            found = store.document(parts[1])
            if found is None:
                self._json({"erreur": "document inconnu"}, 404)
                return
            meta, content = found
            extra = {}
            if query.get("telecharger"):
                extra["Content-Disposition"] = (
                    f'attachment; filename="lettre-de-liaison-{meta["uniqueId"]}.xml"'
                )
            self._send(200, "text/xml; charset=utf-8", content, extra)
        elif len(parts) == 2 and parts[0] == "patient":
            self._send(200, "text/html; charset=utf-8", patient_page(store, parts[1]))
        elif len(parts) in (4, 5) and parts[0] == "patient" and parts[2] == "lettre":
            self._patient_letter(parts[1], parts[3], pdf=len(parts) == 5 and parts[4] == "pdf", query=query)
        else:
            self._send(
                HTTPStatus.NOT_FOUND,
                "text/html; charset=utf-8",
                _page("Introuvable", "<p>Page introuvable.</p>"),
            )


def tls_context(cert: str | Path, key: str | Path, client_ca: str | Path | None = None) -> ssl.SSLContext:
    """The server side of HTTPS, as the DMP's: its certificate, and with `client_ca` the
    establishment's certificate required and checked against that authority (mutual TLS)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    if client_ca is not None:
        context.load_verify_locations(str(client_ca))
        context.verify_mode = ssl.CERT_REQUIRED
    return context


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        sandbox: Sandbox,
        reuse_port: bool = False,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.reuse_port = reuse_port
        self.tls = tls
        super().__init__(address, Handler)

    def server_bind(self) -> None:
        if self.reuse_port:  # several sandbox processes on one port (liaison dmp-sandbox --workers N)
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super().server_bind()

    def get_request(self) -> tuple[socket.socket, object]:
        sock, addr = super().get_request()
        if self.tls is not None:  # the handshake runs in the request's thread (Handler.setup)
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request: object, client_address: object) -> None:
        # A client refused during the TLS handshake (no or untrusted certificate) is logged, not dumped.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ssl.SSLError, ConnectionError)):
            log.info("connexion TLS refusée (%s) : %s", client_address, exc)
            return
        super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}/"


def start(
    sandbox: Sandbox,
    host: str = "127.0.0.1",
    port: int = 0,
    reuse_port: bool = False,
    tls: ssl.SSLContext | None = None,
) -> tuple[SandboxServer, threading.Thread]:
    """Serve in a background thread (tests, demo); `server.shutdown()` stops it. With `tls`
    (`tls_context`), HTTPS as the DMP's, mutual TLS when the context requires a client certificate."""
    server = SandboxServer((host, port), sandbox, reuse_port, tls)
    thread = threading.Thread(target=server.serve_forever, name="dmp-sandbox", daemon=True)
    thread.start()
    return server, thread
