"""The loopback MSSanté sandbox: an SMTP sink (aiosmtpd) writing one Maildir per address.

- It answers like an operator of the trust space: only `*.mssante.fr` domains, a patient address
  must be an INS matricule (15 characters) `@patient.mssante.fr`, otherwise `550 5.1.x`.
- It advertises DSN (RFC 3461): when the RCPT asks `NOTIFY=SUCCESS`, a delivery report
  (`multipart/report; report-type=delivery-status`) goes into the sender's own Maildir in the same
  tree, so `acks.py` (`LIAISON_MSS_MAILDIR_ACKS`) reads it without any IMAP server.
- With `auto_mdn`, it plays the recipient's software and returns a read report (MDN, RFC 8098)
  when the mail asks one (`Disposition-Notification-To`).
- It keeps one copy per Message-ID and mailbox: a re-sent message is accepted and not stored twice
  (what a receiver can do thanks to the fixed Message-ID).

`list_mailbox(maildir, address)` and `read_message(...)` are the pure readers the web UI uses.
No Django here.
"""

from __future__ import annotations

import datetime as dt
import mailbox
import re
import threading
import uuid
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import format_datetime, getaddresses, parseaddr, parsedate_to_datetime
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from liaison.delivery.acks import mailbox_dir

HOSTNAME = "mss-sandbox.localhost"
PATIENT_DOMAIN = "patient.mssante.fr"
TRUST_SUFFIX = ".mssante.fr"
_XDM_RE = re.compile(r"^ihe_xdm\.zip$", re.IGNORECASE)


_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_MAILBOX_NAME = re.compile(rf"[a-z0-9][a-z0-9._+-]{{0,63}}@{_LABEL}(?:\.{_LABEL})+")
_MAILDIR_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def is_mailbox_name(address: str) -> bool:
    """True for a lower-case e-mail address, the only names the sandbox gives its Maildirs."""
    return len(address) <= 254 and bool(_MAILBOX_NAME.fullmatch(address)) and ".." not in address


def is_maildir_key(key: str) -> bool:
    """True for a key `mailbox.Maildir` makes (time.Mseq Ppid Qn.host), nothing with a slash or `..`."""
    return bool(_MAILDIR_KEY.fullmatch(key)) and ".." not in key


def _open(root: Path | str, address: str, create: bool = True) -> mailbox.Maildir:
    return mailbox.Maildir(mailbox_dir(root, address), factory=None, create=create)


def check_recipient(address: str) -> str | None:
    """None if an MSSanté operator would accept the address, else its 5xx reply (ASCII, as SMTP wants)."""
    local, _, domain = address.lower().rpartition("@")
    if not local or not domain.endswith(TRUST_SUFFIX):
        return f"550 5.1.2 <{address}> : domaine hors de l'espace de confiance MSSante"
    if domain == PATIENT_DOMAIN and not re.fullmatch(r"[0-9][0-9ab]{14}", local):
        return f"550 5.1.1 <{address}> : boite patient inconnue (matricule INS attendu)"
    return None


# --- reports (DSN and MDN) --------------------------------------------------------------------


def _boundary() -> str:
    return f"=_report_{uuid.uuid4().hex}"


def _headers_of(raw: bytes) -> bytes:
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        end = raw.find(b"\n\n")
    return raw[: end if end >= 0 else len(raw)].replace(b"\r\n", b"\n")


def build_dsn(
    original: bytes,
    sender: str,
    recipient: str,
    envid: str | None = None,
    orcpt: str | None = None,
    status: str = "2.0.0",
    action: str = "delivered",
    diagnostic: str = "",
    reporting_mta: str = HOSTNAME,
) -> bytes:
    """A delivery status notification (RFC 3464) about `original`, addressed to `sender`."""
    now = format_datetime(dt.datetime.now(dt.UTC))
    b = _boundary()
    ok = action in ("delivered", "relayed", "expanded")
    human = (
        f"Votre message a été remis à {recipient}."
        if ok
        else f"Votre message n'a pas pu être remis à {recipient} ({status} {diagnostic})."
    )
    per_message = [f"Reporting-MTA: dns; {reporting_mta}"]
    if envid:
        per_message.append(f"Original-Envelope-Id: {envid}")
    per_message.append(f"Arrival-Date: {now}")
    per_rcpt = []
    if orcpt:
        per_rcpt.append(f"Original-Recipient: {orcpt}")
    per_rcpt += [f"Final-Recipient: rfc822; {recipient}", f"Action: {action}", f"Status: {status}"]
    if diagnostic:
        per_rcpt.append(f"Diagnostic-Code: smtp; {diagnostic}")
    text = (
        f"From: MAILER-DAEMON@{reporting_mta}\n"
        f"To: {sender}\n"
        f"Subject: {'Accusé de réception' if ok else 'Échec de remise'}\n"
        f"Date: {now}\n"
        f"Message-ID: <{uuid.uuid4()}@{reporting_mta}>\n"
        "Auto-Submitted: auto-replied\n"
        "MIME-Version: 1.0\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{b}"\n\n'
        f"--{b}\n"
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        f"{human}\n\n"
        f"--{b}\n"
        "Content-Type: message/delivery-status\n\n"
        + "\n".join(per_message)
        + "\n\n"
        + "\n".join(per_rcpt)
        + "\n\n"
        f"--{b}\n"
        "Content-Type: text/rfc822-headers\n\n"
    ).encode()
    return text + _headers_of(original) + f"\n\n--{b}--\n".encode()


def build_mdn(
    original: bytes,
    reader: str,
    disposition: str = "manual-action/MDN-sent-manually; displayed",
    reporting_ua: str = HOSTNAME,
) -> bytes:
    """A message disposition notification (RFC 8098) for `original`, to its Disposition-Notification-To."""
    orig = message_from_bytes(original, policy=policy.default)
    to = orig.get("Disposition-Notification-To") or orig.get("From") or ""
    b = _boundary()
    now = format_datetime(dt.datetime.now(dt.UTC))
    subject = str(orig.get("Subject", ""))
    text = (
        f"From: {reader}\nTo: {to}\n"
        f"Subject: Accusé de lecture : {subject}\n"
        f"Date: {now}\nMessage-ID: <{uuid.uuid4()}@{reporting_ua}>\n"
        f"In-Reply-To: {orig.get('Message-ID', '')}\n"
        "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"
        f'Content-Type: multipart/report; report-type=disposition-notification; boundary="{b}"\n\n'
        f"--{b}\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        f"Le message « {subject} » a été lu par {reader}.\n\n"
        f"--{b}\nContent-Type: message/disposition-notification\n\n"
        f"Reporting-UA: {reporting_ua}; Liaison bac à sable\n"
        f"Final-Recipient: rfc822; {reader}\n"
        f"Original-Message-ID: {orig.get('Message-ID', '')}\n"
        f"Disposition: {disposition}\n\n"
        f"--{b}\nContent-Type: text/rfc822-headers\n\n"
    ).encode()
    return text + _headers_of(original) + f"\n\n--{b}--\n".encode()


# --- the SMTP server --------------------------------------------------------------------------


def _pop_params(arg: str, names: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """Remove ESMTP parameters `names` from a MAIL/RCPT argument; return (rest, {NAME: value})."""
    found: dict[str, str] = {}
    kept = []
    for i, token in enumerate(arg.split(" ")):
        key, _, value = token.partition("=")
        if i > 0 and key.upper() in names:
            found[key.upper()] = value
        else:
            kept.append(token)
    return " ".join(kept), found


class DsnSMTP(SMTP):
    """aiosmtpd's SMTP with the DSN extension's parameters accepted and kept on the envelope."""

    async def smtp_MAIL(self, arg: str | None) -> None:
        params: dict[str, str] = {}
        if arg:
            arg, params = _pop_params(arg, ("RET", "ENVID"))
        await super().smtp_MAIL(arg)
        if self.envelope is not None and self.envelope.mail_from:
            self.envelope.dsn_mail = params  # type: ignore[attr-defined]

    async def smtp_RCPT(self, arg: str | None) -> None:
        params: dict[str, str] = {}
        if arg:
            arg, params = _pop_params(arg, ("NOTIFY", "ORCPT"))
        before = len(self.envelope.rcpt_tos) if self.envelope is not None else 0
        await super().smtp_RCPT(arg)
        env = self.envelope
        if env is not None and len(env.rcpt_tos) > before:
            dsn = getattr(env, "dsn_rcpt", {})
            dsn[env.rcpt_tos[-1]] = params
            env.dsn_rcpt = dsn  # type: ignore[attr-defined]


class SandboxHandler:
    def __init__(self, root: Path | str, auto_mdn: bool = False):
        self.root = Path(root)
        self.auto_mdn = auto_mdn
        self._lock = threading.Lock()
        self._seen: dict[str, set[str]] = {}
        self.received = 0

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        return [*responses[:-1], "250-DSN", responses[-1]]

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        refusal = check_recipient(address)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    def _already_has(self, address: str, message_id: str) -> bool:
        key = address.lower()
        if key not in self._seen:
            ids = set()
            for msg in _open(self.root, address).values():
                if msg.get("Message-ID"):
                    ids.add(msg["Message-ID"].strip())
            self._seen[key] = ids
        if message_id in self._seen[key]:
            return True
        self._seen[key].add(message_id)
        return False

    def deliver(self, address: str, raw: bytes, message_id: str | None = None) -> bool:
        """Store a message in `address`'s Maildir; False if that Message-ID is already there."""
        with self._lock:
            if message_id and self._already_has(address, message_id):
                return False
            _open(self.root, address).add(raw)
            return True

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        msg = message_from_bytes(raw, policy=policy.compat32)
        message_id = (msg.get("Message-ID") or "").strip() or None
        queue_id = uuid.uuid4().hex[:12].upper()
        sender = envelope.mail_from or ""
        dsn_mail = getattr(envelope, "dsn_mail", {})
        dsn_rcpt = getattr(envelope, "dsn_rcpt", {})
        for rcpt in envelope.rcpt_tos:
            stamped = (
                f"Return-Path: <{sender}>\r\nDelivered-To: {rcpt}\r\n"
                f"Received: from {session.host_name or 'inconnu'} by {HOSTNAME} with ESMTP id {queue_id}; "
                f"{format_datetime(dt.datetime.now(dt.UTC))}\r\n"
            ).encode() + raw
            self.deliver(rcpt, stamped, message_id)
            notify = dsn_rcpt.get(rcpt, {}).get("NOTIFY", "").upper()
            if sender and "SUCCESS" in notify.split(","):
                orcpt = dsn_rcpt.get(rcpt, {}).get("ORCPT")
                dsn = build_dsn(raw, sender, rcpt, envid=dsn_mail.get("ENVID"), orcpt=orcpt)
                self.deliver(sender, dsn)
            if self.auto_mdn and sender and msg.get("Disposition-Notification-To"):
                _, to = parseaddr(msg["Disposition-Notification-To"])
                self.deliver(to, build_mdn(raw, rcpt))
        self.received += 1
        return f"250 2.0.0 Ok: queued as {queue_id}"


class SandboxController(Controller):
    def factory(self) -> SMTP:
        return DsnSMTP(self.handler, **self.SMTP_kwargs)


def start(
    root: Path | str, host: str = "127.0.0.1", port: int = 2525, auto_mdn: bool = False
) -> SandboxController:
    """Start the sandbox in a background thread (call `.stop()` to end it)."""
    Path(root).mkdir(parents=True, exist_ok=True)
    controller = SandboxController(
        SandboxHandler(root, auto_mdn=auto_mdn),
        hostname=host,
        port=port,
        server_hostname=HOSTNAME,
        data_size_limit=25 * 1024 * 1024,
    )
    controller.start()
    return controller


# --- reading a mailbox (the web UI's view) ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class MailSummary:
    key: str  # the Maildir key, for `read_message`
    message_id: str
    date: dt.datetime | None
    sender: str
    to: tuple[str, ...]
    subject: str
    attachments: tuple[str, ...]
    kind: str  # "lettre" (carries IHE_XDM.ZIP), "accusé de réception", "accusé de lecture", "message"
    unread: bool
    about: str = ""  # the Message-ID of the letter a mail is, or that a DSN / MDN reports on


def _about(msg: EmailMessage, kind: str) -> str:
    """The Message-ID of the mail a report is about (MDN field, else the DSN's returned headers)."""
    if kind == "accusé de lecture":
        for part in msg.walk():
            if part.get_content_type() == "message/disposition-notification":
                text = part.get_payload()
                text = text if isinstance(text, str) else "".join(str(p) for p in text)
                found = re.search(r"^Original-Message-ID:\s*(\S+)", text, re.M | re.I)
                if found:
                    return found.group(1)
        return (msg.get("In-Reply-To") or "").strip()
    if kind == "accusé de réception":
        for part in msg.walk():
            if part.get_content_type() == "text/rfc822-headers":
                headers = message_from_bytes(part.get_payload(decode=True) or b"", policy=policy.compat32)
                return (headers.get("Message-ID") or "").strip()
        return ""
    return (msg.get("Message-ID") or "").strip()


def _kind(msg: Message) -> str:
    ctype = msg.get_content_type()
    report = (msg.get_param("report-type") or "").lower() if ctype == "multipart/report" else ""
    if report == "delivery-status":
        return "accusé de réception"
    if report == "disposition-notification":
        return "accusé de lecture"
    names = [p.get_filename() or "" for p in msg.walk() if p.get_filename()]
    return "lettre" if any(_XDM_RE.match(n) for n in names) else "message"


def list_mailbox(maildir: Path | str, address: str) -> list[MailSummary]:
    """The messages of `address` in the sandbox tree rooted at `maildir`, newest first."""
    path = mailbox_dir(maildir, address)
    if not path.is_dir():
        return []
    box = mailbox.Maildir(path, factory=None, create=False)
    out = []
    for key, msg in box.items():
        try:
            date = parsedate_to_datetime(msg["Date"]) if msg.get("Date") else None
        except (TypeError, ValueError):
            date = None
        decoded = message_from_bytes(msg.as_bytes(), policy=policy.default)
        kind = _kind(decoded)
        out.append(
            MailSummary(
                key=key,
                message_id=(msg.get("Message-ID") or "").strip(),
                date=date,
                sender=str(decoded.get("From", "")),
                to=tuple(a for _, a in getaddresses([str(decoded.get("To", ""))]) if a),
                subject=str(decoded.get("Subject", "")),
                attachments=tuple(p.get_filename() for p in decoded.walk() if p.get_filename()),
                kind=kind,
                unread="S" not in msg.get_flags(),
                about=_about(decoded, kind),
            )
        )
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    out.sort(key=lambda m: m.date or epoch, reverse=True)
    return out


def read_message(maildir: Path | str, address: str, key: str) -> EmailMessage:
    """One message, parsed (attachments with `iter_attachments()`)."""
    box = mailbox.Maildir(mailbox_dir(maildir, address), factory=None, create=False)
    return message_from_bytes(box.get_bytes(key), policy=policy.default)
