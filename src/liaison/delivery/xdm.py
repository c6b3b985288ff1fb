"""The MSSanté mail of a letter: `IHE_XDM.ZIP` (IHE ITI-32) and the MIME message carrying it.

Pure Python (stdlib `email`, `zipfile` + lxml), no Django:
- `build_xdm_zip(...)`: INDEX.HTM, README.TXT, IHE_XDM/SUBSET01/{METADATA.XML, DOC0001.XML};
- `build_mail(MailSpec) -> EmailMessage`: one patient per message, the MSSanté subject and
  `X-MSS-*` headers (dmp-and-mssante.md §4.2), a French body, the PDF and `IHE_XDM.ZIP`;
- `smtp_options(spec)`: the DSN parameters of the SMTP envelope (RFC 3461).
"""

from __future__ import annotations

import datetime as dt
import html
import io
import re
import zipfile
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from lxml import etree

from liaison.core.content import IdentityStatus, LetterContent
from liaison.core.text import strip_accents
from liaison.delivery.xds_metadata import TYPE_CODE, DocumentIds, submit_objects_request, to_bytes
from liaison.documents.xmlsafe import parse_xml

XDM_NAME = "IHE_XDM.ZIP"
CDA_NAME = "DOC0001.XML"
SUBSET = "IHE_XDM/SUBSET01"
SOFTWARE = ("Liaison", "0.1", "Projet Liaison (logiciel libre, EUPL-1.2)")
SUBJECT_PREFIX = "XDM/1.0/DDM+"
LABEL_LENGTH = 40
# A zip entry's date: fixed, so that the same letter gives the same archive on every retry.
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)


def ascii_upper(text: str) -> str:
    """Capitals without accents, as the MSSanté subject wants the patient's names."""
    return strip_accents(text).upper()


def mail_subject(content: LetterContent, label: str = TYPE_CODE[2]) -> str:
    """`XDM/1.0/DDM+<label 40 chars> <NOM> <PRÉNOM> <JJ/MM/AAAA>` (ASCII, REF2 ECO.2.1.3)."""
    p = content.patient
    birth = p.birth_date.strftime("%d/%m/%Y") if p.birth_date else ""
    parts = [
        strip_accents(label)[:LABEL_LENGTH],
        ascii_upper(p.birth_family_name),
        ascii_upper(p.first_given_name),
        birth,
    ]
    return SUBJECT_PREFIX + " ".join(x for x in parts if x)


def _zip_write(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    zf.writestr(info, data)


def _index_htm(content: LetterContent, sender: str) -> bytes:
    p = content.patient
    est = content.establishment
    e = html.escape
    birth = p.birth_date.strftime("%d/%m/%Y") if p.birth_date else ""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="fr" lang="fr">\n'
        "<head><title>Lettre de liaison à la sortie</title></head>\n<body>\n"
        "<h1>Lettre de liaison à la sortie</h1>\n"
        f"<p>Patient : {e(p.birth_family_name)} {e(p.first_given_name)}, né(e) le {e(birth)}</p>\n"
        f"<p>Émetteur : {e(est.name)} (FINESS {e(est.finess_eg)}) — {e(sender)}</p>\n"
        '<ul>\n<li><a href="README.TXT">README.TXT</a> : à propos de ce support</li>\n'
        f'<li><a href="{SUBSET}/{CDA_NAME}">{SUBSET}/{CDA_NAME}</a> : '
        "la lettre au format CDA R2 (modèle ANS LDL-SES)</li>\n"
        f'<li><a href="{SUBSET}/METADATA.XML">{SUBSET}/METADATA.XML</a> : métadonnées IHE XDS</li>\n'
        "</ul>\n</body>\n</html>\n"
    )
    return body.encode("utf-8")


def _readme(content: LetterContent, sender: str) -> bytes:
    est = content.establishment
    name, version, vendor = SOFTWARE
    text = (
        "Ce support contient un paquet IHE XDM (échange de documents de santé).\r\n"
        f"Émetteur : {est.name} (FINESS {est.finess_eg}), {sender}\r\n"
        f"Logiciel : {name} {version} — {vendor}\r\n"
        "Ouvrez INDEX.HTM, ou importez le paquet avec un logiciel compatible IHE XDM.\r\n"
    )
    return text.encode("utf-8")


def build_xdm_zip(
    content: LetterContent,
    ids: DocumentIds,
    cda: bytes,
    sender: str,
    replaces: str | None = None,
    intended_recipients: tuple[str, ...] = (),
    submission_time: dt.datetime | None = None,
) -> bytes:
    """The IHE_XDM.ZIP of one letter (one submission set, one document)."""
    metadata = submit_objects_request(
        content,
        ids,
        cda,
        replaces,
        xdm_uri=CDA_NAME,
        intended_recipients=intended_recipients,
        submission_time=submission_time,
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        _zip_write(zf, "INDEX.HTM", _index_htm(content, sender))
        _zip_write(zf, "README.TXT", _readme(content, sender))
        _zip_write(zf, f"{SUBSET}/METADATA.XML", to_bytes(metadata))
        _zip_write(zf, f"{SUBSET}/{CDA_NAME}", cda)
    return buf.getvalue()


@dataclass(frozen=True)
class MailSpec:
    """Everything one MSSanté mail needs (one recipient, one patient)."""

    message_id: str  # "<…@…>", fixed at the delivery's creation
    sender: str  # the BAL APP address (From)
    recipient: str
    recipient_name: str
    to_patient: bool
    content: LetterContent
    ids: DocumentIds
    cda: bytes
    pdf: bytes
    nil: str  # X-MSS-NIL: the software's declaration number
    version: int = 1
    replaces: str | None = None  # uniqueId of the replaced version
    ask_dsn: bool = True
    ask_mdn: bool = False
    patient_may_reply: bool = False
    date: dt.datetime | None = None
    sender_name: str = ""
    extra_recipients: tuple[str, ...] = field(default_factory=tuple)


def _fr_day(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return "?"
    return value.strftime("%d/%m/%Y")


def mail_body(spec: MailSpec) -> str:
    c = spec.content
    p = c.patient
    est = c.establishment
    who = f"{p.first_given_name} {p.used_family_name or p.birth_family_name}".strip()
    stay = f"du {_fr_day(c.admission_at)} au {_fr_day(c.discharge_at)}"
    where = ", ".join(x for x in (est.unit_name, est.name) if x)
    replaced = (
        f"\nCette lettre (version {spec.version}) annule et remplace la version précédente, "
        "qui ne doit plus être utilisée.\n"
        if spec.replaces
        else ""
    )
    contact = f"\nPour toute question : {est.name}" + (f", {est.phone}" if est.phone else "") + ".\n"
    if spec.to_patient:
        closing = (
            "Ce message vous est envoyé automatiquement ; il n'est pas possible d'y répondre.\n"
            if not spec.patient_may_reply
            else ""
        )
        return (
            "Bonjour,\n\n"
            f"Vous trouverez ci-joint votre lettre de liaison à la sortie de votre hospitalisation {stay}"
            f"{' (' + where + ')' if where else ''}.\n"
            "Elle résume votre séjour et les suites à donner. Montrez-la à votre médecin traitant "
            "et aux professionnels qui vous suivent.\n"
            f"{replaced}{contact}\n{closing}"
        )
    birth = _fr_day(p.birth_date)
    return (
        f"{'Chère consœur, cher confrère' if spec.recipient_name else 'Madame, Monsieur'},\n\n"
        f"Veuillez trouver ci-joint la lettre de liaison à la sortie de {who} "
        f"(né(e) le {birth}), hospitalisé(e) {stay}{' — ' + where if where else ''}.\n"
        f"{replaced}\n"
        "Pièces jointes :\n"
        "- la lettre au format PDF ;\n"
        f"- {XDM_NAME} : le document structuré (CDA R2, modèle ANS LDL-SES) à intégrer dans "
        "votre logiciel.\n"
        f"{contact}\n"
        "Message envoyé automatiquement par la messagerie sécurisée de santé de l'établissement.\n"
    )


def _pdf_name(content: LetterContent) -> str:
    p = content.patient
    day = content.discharge_at.strftime("%Y%m%d") if content.discharge_at else ""
    name = re.sub(r"[^A-Z0-9]+", "-", ascii_upper(p.birth_family_name)).strip("-") or "PATIENT"
    return f"LETTRE_DE_LIAISON_{name}{'_' + day if day else ''}.pdf"


def build_mail(spec: MailSpec) -> EmailMessage:
    c = spec.content
    msg = EmailMessage()
    msg["From"] = Address(spec.sender_name, addr_spec=spec.sender) if spec.sender_name else spec.sender
    msg["To"] = (
        Address(spec.recipient_name, addr_spec=spec.recipient) if spec.recipient_name else spec.recipient
    )
    msg["Subject"] = mail_subject(c)
    msg["Date"] = format_datetime(spec.date or dt.datetime.now(dt.UTC))
    msg["Message-ID"] = spec.message_id
    msg["X-MSS-CODECDA"] = TYPE_CODE[0]
    qualified = c.patient.identity_status == IdentityStatus.QUALIFIEE and bool(c.patient.ins_matricule)
    msg["X-MSS-INS"] = "O" if qualified else "N"
    msg["X-MSS-NIL"] = spec.nil
    if spec.to_patient and not spec.patient_may_reply:
        msg["X-MSS-MES"] = "FIN"
    if spec.ask_mdn:
        msg["Disposition-Notification-To"] = spec.sender
    msg.set_content(mail_body(spec), charset="utf-8", cte="quoted-printable")
    msg.add_attachment(spec.pdf, maintype="application", subtype="pdf", filename=_pdf_name(c))
    xdm = build_xdm_zip(
        c,
        spec.ids,
        spec.cda,
        spec.sender,
        spec.replaces,
        intended_recipients=(spec.recipient, *spec.extra_recipients),
        submission_time=spec.date,
    )
    msg.add_attachment(xdm, maintype="application", subtype="zip", filename=XDM_NAME)
    return msg


def envelope_id(message_id: str) -> str:
    """The DSN ENVID (xtext-safe): the Message-ID without its angle brackets."""
    return re.sub(r"[^!-*,-<>-~]", "", message_id.strip("<>"))


def smtp_options(spec: MailSpec) -> tuple[list[str], list[str]]:
    """(mail_options, rcpt_options) asking for a DSN on success and failure (RFC 3461)."""
    if not spec.ask_dsn:
        return [], []
    return (
        ["RET=HDRS", f"ENVID={envelope_id(spec.message_id)}"],
        ["NOTIFY=SUCCESS,FAILURE", f"ORCPT=rfc822;{spec.recipient}"],
    )


def read_xdm_zip(data: bytes) -> dict[str, bytes]:
    """The files of an XDM archive (for tests, the sandbox's mailbox view, a receiving side)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def metadata_of(data: bytes) -> etree._Element:
    files = {k.upper(): v for k, v in read_xdm_zip(data).items()}
    return parse_xml(files[f"{SUBSET}/METADATA.XML"], "Le METADATA.XML de l'archive XDM")
