"""Acknowledgements read back from the application mailbox: DSN, MDN and error mails.

- `parse_ack(message) -> list[Ack]` (pure): a delivery report (`multipart/report;
  report-type=delivery-status`, RFC 3464), a read/processing report (`…disposition-notification`,
  RFC 8098) or an integration-error mail (`[KO Intégration système !]…`, `[Erreur d'intégration !]…`),
  each tied to the original Message-ID (from the returned headers, `Original-Message-ID`,
  `In-Reply-To`/`References`, or the DSN `Original-Envelope-Id`).
- `apply_ack(ack)`: finds the delivery by Message-ID and records it: `outbox.acknowledge` →
  delivered (DSN 2.x.x; `relayed` counts, Postfix says so after LMTP) or read (MDN displayed /
  processed); a failure (DSN 5.x.x, MDN error, error mail) gives the delivery up with the French
  reason. A delay (DSN `delayed`) is only written in the history.
- Sources: IMAP (`LIAISON_MSS_IMAP` = `imaps://user:password@host:993`, `imap+starttls://…`;
  without a password and with `LIAISON_MSS_CERT`/`KEY` it logs in with SASL EXTERNAL, the
  certificate's CN being the mailbox) or a Maildir (`LIAISON_MSS_MAILDIR_ACKS=DIR`, the mail
  sandbox's tree or one mailbox). Processed mails are moved to the folder `Accuses` (IMAP) or
  flagged seen (Maildir); other mails are only marked seen, so each is read once.

Run by `liaison read-acks [--once]`, which reads the sources' `config.AckConfig` once.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import email.utils
import imaplib
import logging
import mailbox
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

from liaison.delivery.config import AckConfig, ImapConfig

log = logging.getLogger(__name__)

PROCESSED_FOLDER = "Accuses"
ERROR_SUBJECT_RE = re.compile(r"^\s*\[(KO Int[ée]gration syst[èe]me ?!|Erreur d'int[ée]gration ?!)\]", re.I)
_MSGID_RE = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True, slots=True)
class Ack:
    message_id: str  # the original mail's Message-ID, "<…>"
    kind: str  # "delivered", "read", "failed", "delayed", "other"
    recipient: str
    detail: str  # French, for the delivery history


def _text(value: object) -> str:
    return " ".join(str(value or "").split())


def _blocks(part: Message) -> list[Message]:
    """The header blocks of a message/delivery-status or message/disposition-notification part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    raw = payload if isinstance(payload, str) else ""
    return [email.message_from_string(b.strip() + "\n") for b in re.split(r"\n\s*\n", raw) if b.strip()]


def _original_id(msg: Message, envid: str = "") -> str:
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in ("text/rfc822-headers", "message/rfc822", "message/rfc822-headers"):
            payload = part.get_payload()
            inner: Message | None = None
            if isinstance(payload, list) and payload:
                inner = payload[0]
            elif isinstance(payload, str):
                inner = email.message_from_string(payload)
            elif isinstance(payload, bytes):
                inner = email.message_from_bytes(payload)
            if inner is not None and inner.get("Message-ID"):
                return _text(inner["Message-ID"])
    if envid:
        return envid if envid.startswith("<") else f"<{envid}>"
    for header in ("In-Reply-To", "References"):
        found = _MSGID_RE.findall(str(msg.get(header, "")))
        if found:
            return found[0]
    return ""


def _addr(value: str) -> str:
    return value.split(";", 1)[-1].strip()


def _parse_dsn(msg: Message) -> list[Ack]:
    status_part = next((p for p in msg.walk() if p.get_content_type() == "message/delivery-status"), None)
    if status_part is None:
        return []
    blocks = _blocks(status_part)
    if not blocks:
        return []
    envid = _text(blocks[0].get("Original-Envelope-Id"))
    original = _original_id(msg, envid)
    out = []
    for block in blocks[1:] or blocks:
        action = _text(block.get("Action")).lower()
        status = _text(block.get("Status"))
        rcpt = _addr(_text(block.get("Final-Recipient") or block.get("Original-Recipient")))
        diag = _text(block.get("Diagnostic-Code"))
        if not action:
            continue
        if action in ("delivered", "relayed", "expanded") and status.startswith("2"):
            kind, detail = "delivered", f"Remis à {rcpt} (accusé de réception, statut {status})."
        elif action == "failed" or status.startswith("5"):
            kind = "failed"
            detail = f"Non remis à {rcpt} : le serveur destinataire signale l'échec {status}" + (
                f" ({_addr(diag)})" if diag else ""
            )
            detail += ". Vérifiez l'adresse MSSanté du destinataire puis renvoyez la lettre."
        elif action == "delayed":
            kind, detail = "delayed", f"Remise à {rcpt} retardée (statut {status}) ; le serveur réessaie."
        else:
            kind, detail = "other", f"Rapport de remise pour {rcpt} : {action} {status}."
        out.append(Ack(original, kind, rcpt, detail))
    return out


def _parse_mdn(msg: Message) -> list[Ack]:
    part = next((p for p in msg.walk() if p.get_content_type() == "message/disposition-notification"), None)
    if part is None:
        return []
    fields: dict[str, str] = {}
    for block in _blocks(part):
        for k, v in block.items():
            fields.setdefault(k.lower(), _text(v))
    original = fields.get("original-message-id") or _original_id(msg)
    rcpt = _addr(fields.get("final-recipient", ""))
    disposition = fields.get("disposition", "")
    dtype = disposition.split(";", 1)[-1].strip().lower()
    if "error" in dtype or "failed" in dtype:
        reason = disposition.split(":", 1)[-1].strip() if ":" in disposition else dtype
        code, _, label = reason.partition("^")
        text = f"{label} (code {code})" if label else reason
        return [
            Ack(original, "failed", rcpt, f"Le logiciel de {rcpt} n'a pas pu intégrer la lettre : {text}.")
        ]
    if dtype.startswith(("displayed", "processed")):
        what = "lue" if dtype.startswith("displayed") else "intégrée"
        return [Ack(original, "read", rcpt, f"Lettre {what} par {rcpt} (accusé de lecture).")]
    return [Ack(original, "other", rcpt, f"Accusé de lecture de {rcpt} : {disposition}.")]


def parse_ack(msg: Message) -> list[Ack]:
    """The acknowledgements a mail carries (empty for an ordinary mail)."""
    if msg.get_content_type() == "multipart/report":
        report = (msg.get_param("report-type") or "").lower()
        if report == "delivery-status":
            return _parse_dsn(msg)
        if report == "disposition-notification":
            return _parse_mdn(msg)
    subject = _text(msg.get("Subject"))
    if ERROR_SUBJECT_RE.match(subject):
        original = _original_id(msg)
        if original:
            sender = email.utils.parseaddr(str(msg.get("From", "")))[1]
            body = msg.get_body(("plain",)) if hasattr(msg, "get_body") else None
            text = _text(body.get_content() if body is not None else "")[:300]
            detail = f"Erreur d'intégration signalée par {sender} : {subject}" + (
                f" — {text}" if text else ""
            )
            return [Ack(original, "failed", sender, detail)]
    return []


def parse_bytes(raw: bytes) -> list[Ack]:
    return parse_ack(email.message_from_bytes(raw, policy=email.policy.default))


# --- recording --------------------------------------------------------------------------------


def apply_ack(ack: Ack) -> bool:
    """Record one acknowledgement on its delivery; False if no delivery has that Message-ID."""
    from django.db import transaction

    from liaison.delivery import outbox
    from liaison.delivery.models import Delivery, DeliveryEvent

    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update()
            .filter(message_id__in={ack.message_id, ack.message_id.strip("<>")})
            .first()
        )
        if delivery is None:
            return False
        if ack.kind == "delivered":
            outbox.acknowledge(delivery, Delivery.State.DELIVERED, ack.detail)
        elif ack.kind == "read":
            outbox.acknowledge(delivery, Delivery.State.READ, ack.detail)
        elif ack.kind == "failed":
            delivery.state, delivery.last_error = Delivery.State.GIVEN_UP, ack.detail
            delivery.save(update_fields=["state", "last_error"])
            DeliveryEvent.objects.create(delivery=delivery, state=delivery.state, detail=ack.detail)
        else:
            DeliveryEvent.objects.create(delivery=delivery, state=delivery.state, detail=ack.detail)
    return True


def process_raw(raw: bytes) -> tuple[bool, int]:
    """(is an acknowledgement, how many deliveries it updated)."""
    acks = parse_bytes(raw)
    return bool(acks), sum(apply_ack(a) for a in acks)


# --- Maildir source ---------------------------------------------------------------------------


def mailbox_dir(root: Path | str, address: str) -> Path:
    """The Maildir of one address in a tree of mailboxes: `<root>/<address in lower case>` (the
    layout the demo's mail sandbox writes)."""
    safe = re.sub(r"[^a-z0-9@._+-]", "_", address.strip().lower())
    return Path(root) / safe


def maildir_boxes(root: Path | str, addresses: list[str]) -> list[Path]:
    """The mailbox itself if `root` is a Maildir, else `<root>/<address>` for each address."""
    root = Path(root)
    if (root / "new").is_dir():
        return [root]
    return [p for p in (mailbox_dir(root, a) for a in addresses) if (p / "new").is_dir()]


def read_maildir(path: Path) -> int:
    """Process the unseen mails of one Maildir; return how many deliveries were updated."""
    box = mailbox.Maildir(path, factory=None, create=False)
    updated = 0
    for key in list(box.iterkeys()):
        msg = box.get_message(key)
        if "S" in msg.get_flags():
            continue
        _, n = process_raw(box.get_bytes(key))
        updated += n
        msg.set_subdir("cur")
        msg.add_flag("S")
        box[key] = msg
    return updated


# --- IMAP source ------------------------------------------------------------------------------


def imap_connect(c: ImapConfig) -> imaplib.IMAP4:
    if c.security == "tls":
        imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(c.host, c.port, ssl_context=c.ssl_context(), timeout=30)
    else:
        imap = imaplib.IMAP4(c.host, c.port, timeout=30)
        if c.security == "starttls":
            imap.starttls(ssl_context=c.ssl_context())
    if c.password:
        imap.login(c.user, c.password)
    else:  # SASL EXTERNAL: the client certificate names the mailbox (authzid = user, or empty)
        imap.authenticate("EXTERNAL", lambda _: c.user.encode() if c.user else b"")
    return imap


def _uids(imap: imaplib.IMAP4, criteria: str) -> Iterator[bytes]:
    typ, data = imap.uid("SEARCH", None, criteria)
    if typ == "OK" and data and data[0]:
        yield from data[0].split()


def read_imap(c: ImapConfig) -> int:
    """Process the unseen mails of the application mailbox; return how many deliveries changed."""
    imap = imap_connect(c)
    updated = 0
    try:
        imap.select(c.folder)
        imap.create(PROCESSED_FOLDER)  # "already exists" is a NO, harmless
        can_move = "MOVE" in imap.capabilities
        moved = False
        for uid in list(_uids(imap, "UNSEEN")):
            typ, data = imap.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((d[1] for d in data if isinstance(d, tuple)), None) if typ == "OK" else None
            if raw is None:
                continue
            is_ack, n = process_raw(raw)
            updated += n
            imap.uid("STORE", uid, "+FLAGS", "(\\Seen)")
            if is_ack:
                if can_move:
                    imap.uid("MOVE", uid, PROCESSED_FOLDER)
                else:
                    imap.uid("COPY", uid, PROCESSED_FOLDER)
                    imap.uid("STORE", uid, "+FLAGS", "(\\Deleted)")
                    moved = True
        if moved:
            imap.expunge()
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            imap.logout()
    return updated


# --- one pass / forever -----------------------------------------------------------------------


def app_addresses(sender: str | None = None) -> list[str]:
    """The application mailboxes: `sender` (LIAISON_MSS_FROM), else every establishment's default one."""
    if sender:
        return [sender]
    from liaison.delivery.mssante import default_sender
    from liaison.letters.models import Establishment

    return [default_sender(e.name, e.mssante) for e in Establishment.objects.all()]


def read_once(config: AckConfig) -> int:
    """Read every configured source once; return how many deliveries were updated."""
    updated = 0
    if config.maildir:
        for box in maildir_boxes(config.maildir, app_addresses(config.sender)):
            updated += read_maildir(box)
    if config.imap is not None:
        updated += read_imap(config.imap)
    return updated


def run_forever(config: AckConfig, poll: float = 10.0) -> None:
    from django.db import close_old_connections

    from liaison.pulse.heartbeat import Beater

    heart = Beater("acks")
    while True:
        close_old_connections()
        heart.beat()
        try:
            read_once(config)
        except (OSError, imaplib.IMAP4.error) as exc:
            log.warning("lecture des accusés impossible : %s", exc)
        time.sleep(poll)
