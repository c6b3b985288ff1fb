"""IHE ITI-41 Provide and Register Document Set-b on the wire (pure: lxml and bytes, no Django).

- `provide_and_register(...)`: the SOAP 1.2 envelope (WS-Addressing, the VIHF in `wsse:Security`)
  around `xdsb:ProvideAndRegisterDocumentSetRequest`, each document an `xop:Include`;
- `mtom(...)` / `parse_multipart(...)`: the MTOM/XOP `multipart/related` framing, byte-exact;
- `registry_response(...)` / `soap_fault(...)`: what a recipient answers (the DMP sandbox);
- `parse_answer(...)` + `outcome(...)`: the sender's reading of the answer, with a French message
  per error code saying what to fix, and whether a retry can help.

dmp-and-mssante.md §2.2 and §2.6; IHE ITI TF-2b §3.41, ITI TF-3 Table 4.2.4.1-2 (error codes).
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass, field
from urllib.parse import unquote

from lxml import etree

from liaison.documents.xmlsafe import XmlInputError, parse_xml

SOAP = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://www.w3.org/2005/08/addressing"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
XDSB = "urn:ihe:iti:xds-b:2007"
LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
RS = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"
XOP = "http://www.w3.org/2004/08/xop/include"
ACTION = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
RESPONSE_ACTION = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse"
SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
PARTIAL_SUCCESS = "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess"
SEVERITY_ERROR = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"
SEVERITY_WARNING = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Warning"
ANONYMOUS = "http://www.w3.org/2005/08/addressing/anonymous"
NS = {"s": SOAP, "wsa": WSA, "wsse": WSSE, "xdsb": XDSB, "lcm": LCM, "rim": RIM, "rs": RS, "xop": XOP}


# --- the request ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Attachment:
    """One document of the submission: its ebRIM id (the ExtrinsicObject's) and its bytes."""

    document_id: str
    content: bytes
    mime_type: str = "text/xml"


@dataclass(frozen=True, slots=True)
class Request:
    content_type: str  # the HTTP Content-Type (multipart/related; …)
    body: bytes
    message_id: str


def provide_and_register(
    submit_objects_request: etree._Element,
    attachments: Sequence[Attachment],
    to: str,
    security: etree._Element | None = None,
    message_id: str | None = None,
) -> Request:
    """The whole ITI-41 HTTP request: SOAP 1.2 envelope + MTOM/XOP parts."""
    message_id = message_id or f"urn:uuid:{uuid.uuid4()}"
    env = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"s": SOAP, "wsa": WSA})
    header = etree.SubElement(env, f"{{{SOAP}}}Header")
    action = etree.SubElement(header, f"{{{WSA}}}Action", {f"{{{SOAP}}}mustUnderstand": "1"})
    action.text = ACTION
    etree.SubElement(header, f"{{{WSA}}}MessageID").text = message_id
    etree.SubElement(etree.SubElement(header, f"{{{WSA}}}ReplyTo"), f"{{{WSA}}}Address").text = ANONYMOUS
    etree.SubElement(header, f"{{{WSA}}}To", {f"{{{SOAP}}}mustUnderstand": "1"}).text = to
    if security is not None:
        sec = etree.SubElement(
            header, f"{{{WSSE}}}Security", {f"{{{SOAP}}}mustUnderstand": "1"}, nsmap={"wsse": WSSE}
        )
        sec.append(security)
    body = etree.SubElement(env, f"{{{SOAP}}}Body")
    pnr = etree.SubElement(body, f"{{{XDSB}}}ProvideAndRegisterDocumentSetRequest", nsmap={"xdsb": XDSB})
    pnr.append(submit_objects_request)
    parts: list[tuple[str, str, bytes]] = []
    for i, att in enumerate(attachments, 1):
        cid = f"doc{i}.{uuid.uuid4().hex}@liaison.local"
        doc = etree.SubElement(pnr, f"{{{XDSB}}}Document", id=att.document_id)
        etree.SubElement(doc, f"{{{XOP}}}Include", href=f"cid:{cid}", nsmap={"xop": XOP})
        parts.append((cid, att.mime_type, att.content))
    envelope = etree.tostring(env, xml_declaration=True, encoding="UTF-8")
    content_type, payload = mtom(envelope, parts, ACTION)
    return Request(content_type, payload, message_id)


def mtom(envelope: bytes, parts: Sequence[tuple[str, str, bytes]], action: str) -> tuple[str, bytes]:
    """MTOM/XOP framing: the envelope first (`application/xop+xml`), then one binary part per cid."""
    boundary = f"MIMEBoundary_{uuid.uuid4().hex}"
    root_cid = f"root.{uuid.uuid4().hex}@liaison.local"
    out = [
        f"--{boundary}\r\n"
        'Content-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"\r\n'
        "Content-Transfer-Encoding: binary\r\n"
        f"Content-ID: <{root_cid}>\r\n\r\n".encode("ascii"),
        envelope,
    ]
    for cid, mime, data in parts:
        out.append(
            f"\r\n--{boundary}\r\nContent-Type: {mime}\r\nContent-Transfer-Encoding: binary\r\n"
            f"Content-ID: <{cid}>\r\n\r\n".encode("ascii")
        )
        out.append(data)
    out.append(f"\r\n--{boundary}--\r\n".encode("ascii"))
    content_type = (
        f'multipart/related; boundary="{boundary}"; type="application/xop+xml"; '
        f'start="<{root_cid}>"; start-info="application/soap+xml"; action="{action}"'
    )
    return content_type, b"".join(out)


# --- multipart reading (both sides) -----------------------------------------------------------


class FramingError(ValueError):
    """A body that is not the expected MTOM/SOAP framing; the message is French."""


_PARAM = re.compile(r';\s*([A-Za-z-]+)\s*=\s*(?:"([^"]*)"|([^;\s]*))')


def content_type_params(value: str) -> tuple[str, dict[str, str]]:
    main = value.split(";", 1)[0].strip().lower()
    return main, {
        m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
        for m in _PARAM.finditer(value)
    }


@dataclass(frozen=True, slots=True)
class Part:
    headers: dict[str, str]  # lower-case names
    content: bytes

    @property
    def content_id(self) -> str:
        return self.headers.get("content-id", "").strip().strip("<>")


@dataclass(frozen=True, slots=True)
class Message:
    root: bytes  # the SOAP envelope
    root_type: str  # the root part's Content-Type
    parts: dict[str, bytes]  # content-id → bytes (the root excluded)


def parse_multipart(content_type: str, body: bytes) -> Message:
    """Split a `multipart/related` (MTOM) body, byte-exact; a plain SOAP body is accepted too."""
    main, params = content_type_params(content_type)
    if main in ("application/soap+xml", "text/xml", "application/xml"):
        return Message(body, main, {})
    if main != "multipart/related":
        raise FramingError(f"Type de contenu inattendu : {main or 'absent'} (multipart/related attendu).")
    boundary = params.get("boundary")
    if not boundary:
        raise FramingError("Message MTOM sans paramètre boundary.")
    delimiter = b"--" + boundary.encode("latin-1")
    chunks = body.split(b"\r\n" + delimiter)
    first = chunks[0]
    if not first.startswith(delimiter):
        pos = first.find(delimiter)
        if pos < 0:
            raise FramingError("Message MTOM sans première délimitation.")
        first = first[pos:]
    chunks[0] = first[len(delimiter) :]
    parts: list[Part] = []
    closed = False
    for chunk in chunks:
        if chunk.startswith(b"--"):
            closed = True
            break
        chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise FramingError("Partie MTOM sans en-têtes complets.")
        headers: dict[str, str] = {}
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip():
                headers[name.strip().lower()] = value.strip()
        parts.append(Part(headers, content))
    if not closed:
        raise FramingError("Message MTOM tronqué : délimitation finale absente.")
    if not parts:
        raise FramingError("Message MTOM vide.")
    start = (params.get("start") or "").strip("<>")
    root = next((p for p in parts if start and p.content_id == start), None) if start else parts[0]
    if root is None:
        raise FramingError(f"La partie racine annoncée (start=<{start}>) est absente du message MTOM.")
    root_type = root.headers.get("content-type", "")
    if params.get("type", "").lower() != "application/xop+xml" or not root_type.lower().startswith(
        "application/xop+xml"
    ):
        raise FramingError("La partie racine MTOM doit être de type application/xop+xml.")
    others = {p.content_id: p.content for p in parts if p is not root}
    return Message(root.content, root_type, others)


def resolve_xop(envelope: etree._Element, parts: Mapping[str, bytes]) -> dict[str, bytes]:
    """The documents of a ProvideAndRegister request by id, each `xop:Include` resolved to its part."""
    out: dict[str, bytes] = {}
    for doc in envelope.iterfind(".//xdsb:Document", NS):
        include = doc.find("xop:Include", NS)
        if include is None:
            raise FramingError(
                f"Le document {doc.get('id')} n'est pas transmis en pièce MTOM (xop:Include attendu)."
            )
        href = include.get("href", "")
        cid = href[4:] if href.startswith("cid:") else href
        cid = unquote(cid)
        if cid not in parts:
            raise FramingError(
                f"La pièce MTOM {href} référencée par le document {doc.get('id')} est absente."
            )
        out[doc.get("id", "")] = parts[cid]
    return out


def inline_xop(request: etree._Element, documents: Mapping[str, bytes]) -> etree._Element:
    """A copy of the request with each `xop:Include` replaced by the base64 of its document: the
    XOP infoset, which is what the XDS.b schema describes (`Document` is `base64Binary`)."""
    copy = deepcopy(request)
    for doc in copy.iterfind(".//xdsb:Document", NS):
        for include in doc.findall("xop:Include", NS):
            doc.remove(include)
        doc.text = base64.b64encode(documents.get(doc.get("id", ""), b"")).decode("ascii")
    return copy


# --- the answer -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegistryError:
    code: str
    context: str = ""  # French, for the sandbox's errors
    severity: str = SEVERITY_ERROR
    location: str = ""


@dataclass(frozen=True, slots=True)
class Answer:
    status: str = ""  # RegistryResponse status; "" for a SOAP fault or an unreadable answer
    errors: tuple[RegistryError, ...] = ()
    fault_code: str = ""  # "Sender" / "Receiver"
    fault_subcode: str = ""  # e.g. wsse:FailedAuthentication
    fault_reason: str = ""


def _envelope(header_children: Sequence[etree._Element], body_child: etree._Element) -> etree._Element:
    env = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"s": SOAP, "wsa": WSA})
    header = etree.SubElement(env, f"{{{SOAP}}}Header")
    for child in header_children:
        header.append(child)
    etree.SubElement(env, f"{{{SOAP}}}Body").append(body_child)
    return env


def _wsa(tag: str, text: str, **attrib: str) -> etree._Element:
    el = etree.Element(f"{{{WSA}}}{tag}", attrib)
    el.text = text
    return el


def registry_response(
    errors: Sequence[RegistryError] = (), relates_to: str = "", action: str = RESPONSE_ACTION
) -> bytes:
    """A SOAP 1.2 envelope with `rs:RegistryResponse` (Success if no error of severity Error)."""
    failed = any(e.severity == SEVERITY_ERROR for e in errors)
    rr = etree.Element(f"{{{RS}}}RegistryResponse", nsmap={"rs": RS}, status=FAILURE if failed else SUCCESS)
    if errors:
        lst = etree.SubElement(rr, f"{{{RS}}}RegistryErrorList")
        for e in errors:
            attrib = {"errorCode": e.code, "codeContext": e.context, "severity": e.severity}
            if e.location:
                attrib["location"] = e.location
            etree.SubElement(lst, f"{{{RS}}}RegistryError", attrib)
    headers = [_wsa("Action", action, **{f"{{{SOAP}}}mustUnderstand": "1"})]
    headers.append(_wsa("MessageID", f"urn:uuid:{uuid.uuid4()}"))
    if relates_to:
        headers.append(_wsa("RelatesTo", relates_to))
    return etree.tostring(_envelope(headers, rr), xml_declaration=True, encoding="UTF-8")


def soap_fault(code: str, subcode: str, reason: str, relates_to: str = "") -> bytes:
    """A SOAP 1.2 fault: `code` is Sender or Receiver; `subcode` a QName such as wsse:InvalidSecurity."""
    fault = etree.Element(f"{{{SOAP}}}Fault", nsmap={"s": SOAP, "wsse": WSSE})
    c = etree.SubElement(fault, f"{{{SOAP}}}Code")
    etree.SubElement(c, f"{{{SOAP}}}Value").text = f"s:{code}"
    if subcode:
        etree.SubElement(etree.SubElement(c, f"{{{SOAP}}}Subcode"), f"{{{SOAP}}}Value").text = subcode
    r = etree.SubElement(fault, f"{{{SOAP}}}Reason")
    text = etree.SubElement(r, f"{{{SOAP}}}Text")
    text.set("{http://www.w3.org/XML/1998/namespace}lang", "fr")
    text.text = reason
    headers = [_wsa("Action", "http://www.w3.org/2005/08/addressing/soap/fault")]
    if relates_to:
        headers.append(_wsa("RelatesTo", relates_to))
    return etree.tostring(_envelope(headers, fault), xml_declaration=True, encoding="UTF-8")


def parse_answer(content_type: str, body: bytes) -> Answer:
    """Read a RegistryResponse or a SOAP fault (MTOM-framed or plain); raises FramingError."""
    message = parse_multipart(content_type, body) if content_type else Message(body, "", {})
    try:
        env = parse_xml(message.root, "La réponse du DMP")
    except XmlInputError as exc:
        raise FramingError(str(exc)) from exc
    fault = env.find("s:Body/s:Fault", NS)
    if fault is not None:
        value = (fault.findtext("s:Code/s:Value", "", NS) or "").strip()
        sub = (fault.findtext("s:Code/s:Subcode/s:Value", "", NS) or "").strip()
        reason = " ".join(t.strip() for t in fault.xpath("s:Reason/s:Text/text()", namespaces=NS))
        return Answer(fault_code=value.split(":")[-1], fault_subcode=sub.split(":")[-1], fault_reason=reason)
    rr = env.find("s:Body/rs:RegistryResponse", NS)
    if rr is None:
        raise FramingError("Réponse sans RegistryResponse ni SOAP Fault.")
    errors = tuple(
        RegistryError(
            code=e.get("errorCode", ""),
            context=e.get("codeContext", ""),
            severity=e.get("severity", SEVERITY_ERROR),
            location=e.get("location", ""),
        )
        for e in rr.iterfind("rs:RegistryErrorList/rs:RegistryError", NS)
    )
    return Answer(status=rr.get("status", ""), errors=errors)


# --- what the sender makes of it --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    detail: str  # French
    retry: bool = False
    already_filed: bool = False  # a retry found the document already there (idempotence)
    codes: tuple[str, ...] = field(default=())


# code → (French message saying what to fix, whether a retry can help)
ERROR_TEXT: dict[str, tuple[str, bool]] = {
    "XDSMissingDocumentMetadata": (
        "Métadonnées XDS manquantes : le DMP exige chaque métadonnée de la lettre (type, format, "
        "établissement, cadre d'exercice, auteur, patient…). Vérifiez l'établissement et le médecin "
        "responsable de la lettre, puis signalez l'anomalie à l'équipe Liaison.",
        False,
    ),
    "XDSRegistryMetadataError": (
        "Métadonnées XDS refusées par le DMP (valeur non conforme au cadre d'interopérabilité). "
        "Corrigez la donnée indiquée puis faites une nouvelle version de la lettre.",
        False,
    ),
    "XDSRepositoryMetadataError": (
        "Métadonnées du document refusées par l'entrepôt du DMP (taille, empreinte ou type MIME).",
        False,
    ),
    "InvalidDocumentContent": (
        "Le document CDA est refusé par le DMP (non conforme au modèle LDL-SES). Corrigez la lettre "
        "selon le détail ci-dessous et signez une nouvelle version.",
        False,
    ),
    "XDSUnknownPatientId": (
        "Patient inconnu du DMP : l'INS transmise ne correspond à aucun DMP. Vérifiez l'INS du patient "
        "(téléservice INSi, identité qualifiée) ; si le patient n'a pas de DMP (Mon espace santé non "
        "activé ou fermé), la lettre ne peut pas y être versée.",
        False,
    ),
    "XDSPatientIdDoesNotMatch": (
        "L'identifiant patient diffère entre le lot de soumission, le document et le jeton VIHF : "
        "vérifiez l'INS du patient puis signalez l'anomalie à l'équipe Liaison.",
        False,
    ),
    "XDSNonIdenticalHash": (
        "Un document de même identifiant mais de contenu différent est déjà dans le DMP : ne renvoyez "
        "pas ce document ; faites une nouvelle version de la lettre (correction).",
        False,
    ),
    "XDSNonIdenticalSize": (
        "Un document de même identifiant mais de taille différente est déjà dans le DMP : faites une "
        "nouvelle version de la lettre (correction).",
        False,
    ),
    "XDSMissingDocument": (
        "Le document annoncé dans les métadonnées est absent de l'envoi : signalez l'anomalie à "
        "l'équipe Liaison.",
        False,
    ),
    "XDSRegistryDuplicateUniqueIdInMessage": (
        "Identifiant en double dans l'envoi : signalez l'anomalie à l'équipe Liaison.",
        False,
    ),
    "XDSRepositoryDuplicateUniqueIdInMessage": (
        "Identifiant en double dans l'envoi : signalez l'anomalie à l'équipe Liaison.",
        False,
    ),
    "XDSReplaceFailed": (
        "La version précédente de la lettre n'a pas pu être remplacée dans le DMP (elle n'y est pas, "
        "ou plus, disponible). Nouvel essai prévu ; si l'erreur persiste, vérifiez l'envoi au DMP de "
        "la version précédente.",
        True,
    ),
    "UnresolvedReferenceException": (
        "La version remplacée n'est pas (encore) dans le DMP : la version précédente doit y être "
        "versée d'abord. Nouvel essai prévu.",
        True,
    ),
    "XDSRegistryBusy": ("Le DMP est momentanément surchargé. Nouvel essai prévu.", True),
    "XDSRepositoryBusy": ("Le DMP est momentanément surchargé. Nouvel essai prévu.", True),
    "XDSRegistryNotAvailable": ("Le DMP est momentanément indisponible. Nouvel essai prévu.", True),
    "XDSRepositoryNotAvailable": ("Le DMP est momentanément indisponible. Nouvel essai prévu.", True),
    "XDSRegistryOutOfResources": ("Le DMP est momentanément surchargé. Nouvel essai prévu.", True),
    "XDSRepositoryOutOfResources": ("Le DMP est momentanément surchargé. Nouvel essai prévu.", True),
    "XDSRegistryError": ("Erreur interne du DMP. Nouvel essai prévu.", True),
    "XDSRepositoryError": ("Erreur interne de l'entrepôt du DMP. Nouvel essai prévu.", True),
}
# A retry of a submission the DMP already holds (same uniqueId, identical content).
DUPLICATE_CODES = frozenset(
    {
        "XDSDuplicateUniqueIdInRegistry",
        "XDSRepositoryDuplicateUniqueIdInSubmission",
        "XDSRegistryDuplicateUniqueIdInSubmission",
    }
)
SECURITY_SUBCODES = {
    "FailedAuthentication": "la signature du jeton VIHF est refusée",
    "InvalidSecurityToken": "le jeton VIHF est refusé",
    "InvalidSecurity": "le jeton VIHF est absent ou invalide",
    "FailedCheck": "la signature du jeton VIHF est invalide",
    "SecurityTokenUnavailable": "le jeton VIHF est absent",
}


def _joined(errors: Sequence[RegistryError]) -> str:
    return " | ".join(f"{e.code}{f' : {e.context}' if e.context else ''}" for e in errors)


def outcome(answer: Answer, http_status: int = 200) -> Outcome:
    """The sender's reading of a DMP answer: ok, or a French message and whether to retry."""
    if answer.fault_code:
        if answer.fault_subcode in SECURITY_SUBCODES:
            what = SECURITY_SUBCODES[answer.fault_subcode]
            return Outcome(
                False,
                f"Refus d'authentification du DMP : {what}. Vérifiez le certificat de cachet de "
                "l'établissement (LIAISON_DMP_CERT / LIAISON_DMP_KEY : valide, reconnu par le DMP, "
                f"non expiré) et l'horloge du serveur. Détail : {answer.fault_reason}",
                retry=False,
                codes=(answer.fault_subcode,),
            )
        retry = answer.fault_code == "Receiver"
        return Outcome(
            False,
            f"Le DMP a rejeté la requête (SOAP {answer.fault_code}"
            f"{'/' + answer.fault_subcode if answer.fault_subcode else ''}) : {answer.fault_reason}"
            + (" Nouvel essai prévu." if retry else ""),
            retry=retry,
            codes=(answer.fault_subcode or answer.fault_code,),
        )
    errors = [e for e in answer.errors if e.severity == SEVERITY_ERROR]
    warnings = [e for e in answer.errors if e.severity != SEVERITY_ERROR]
    codes = tuple(e.code for e in answer.errors)
    if answer.status in (SUCCESS, PARTIAL_SUCCESS) and not errors:
        detail = "Document enregistré dans le DMP."
        if warnings:
            detail += f" Avertissements du DMP : {_joined(warnings)}"
        return Outcome(True, detail, codes=codes)
    if answer.status != FAILURE and not errors:
        return Outcome(
            False, f"Réponse du DMP inattendue (statut {answer.status or 'absent'}).", retry=True, codes=codes
        )
    if errors and all(e.code in DUPLICATE_CODES for e in errors):
        return Outcome(
            True,
            "Document déjà présent dans le DMP avec le même identifiant (envoi précédent réussi) : "
            "rien à renvoyer.",
            already_filed=True,
            codes=codes,
        )
    errors = [e for e in errors if e.code not in DUPLICATE_CODES] or errors
    texts: list[str] = []
    retry = True
    for e in errors:
        text, can_retry = ERROR_TEXT.get(
            e.code,
            (
                f"Erreur {e.code} du DMP : consultez le détail et signalez-la à l'équipe Liaison.",
                False,
            ),
        )
        retry = retry and can_retry
        if text not in texts:
            texts.append(text)
    detail = " ".join(texts) + f" Détail du DMP : {_joined(errors)}"
    return Outcome(False, detail, retry=retry, codes=codes)
