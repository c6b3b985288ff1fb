"""The MSSanté channel: sends a delivery's mail by SMTP (STARTTLS + client certificate).

`configure(config)` registers the sender for channel `mssante` when `LIAISON_MSS_SMTP` is set
(`config.SmtpConfig`, read by `liaison worker`):

- `LIAISON_MSS_SMTP`: `smtp://host:port` (plain, the sandbox), `smtp+starttls://host:port`
  (STARTTLS, the operator) or `smtps://host:port` (implicit TLS);
- `LIAISON_MSS_CERT`, `LIAISON_MSS_KEY`: the BAL APP's client certificate and key (PEM);
- `LIAISON_MSS_CA`: the CA bundle that signs the server's certificate (IGC Santé);
- `LIAISON_MSS_FROM`: the BAL APP address; default the establishment's MSSanté address, else
  `lettre-de-liaison@<establishment>.mssante.fr`;
- `LIAISON_MSS_NIL`: the X-MSS-NIL product number; `LIAISON_MSS_MDN=1` asks read receipts;
- `LIAISON_XDS_SOURCE_OID`: the XDS sourceId (default: a 2.25 OID derived from the FINESS).

One SMTP connection per worker process is kept and reused (checked with NOOP after being idle).

Idempotence. SMTP cannot be asked "do you already have this message?". Before the DATA command
the sender writes a DeliveryEvent "transmission" (committed); if the worker dies after it and
before `settle`, the next attempt knows the previous one may have reached the server, records it
("renvoi après interruption") and sends again with the same Message-ID (at least once: a lost
letter is worse than a duplicate the receiver can drop by its Message-ID). A crash before that
event cannot have produced a mail. So a duplicate needs a crash (or a lost connection) between
the end of DATA and the commit of `settle`: at most one delivery per crashed worker.
"""

from __future__ import annotations

import atexit
import contextlib
import email.policy
import logging
import re
import smtplib
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

from django.db import connection, transaction

from liaison.delivery import worker
from liaison.delivery.config import SmtpConfig
from liaison.delivery.models import Delivery, DeliveryEvent
from liaison.delivery.outbox import SendResult
from liaison.delivery.xdm import MailSpec, build_mail, smtp_options
from liaison.delivery.xds_metadata import DocumentIds, XdsMetadataError, source_id_for

log = logging.getLogger(__name__)

DATA_EVENT = "sending"  # DeliveryEvent.state (10 characters at most)
DATA_DETAIL = "transmission du message au serveur MSSanté (DATA)"
IDLE_CHECK = 20.0  # seconds of idleness after which a kept connection is checked with NOOP
# Long subjects are not folded (RFC 5322 allows 998): some readers keep the space of a fold
# placed right after "Subject:".
MAIL_POLICY = email.policy.SMTP.clone(max_line_length=998)
UNCERTAIN_PREFIX = "Connexion perdue pendant la transmission"


def default_sender(name: str, mssante: str = "") -> str:
    """The establishment's BAL APP: its MSSanté address, else `lettre-de-liaison@<nom>.mssante.fr`."""
    if mssante:
        return mssante
    from liaison.core.text import strip_accents

    slug = re.sub(r"[^a-z0-9]+", "-", strip_accents(name).lower()).strip("-") or "etablissement"
    return f"lettre-de-liaison@{slug}.mssante.fr"


# --- what goes into the mail ------------------------------------------------------------------


@dataclass(frozen=True)
class _LetterParts:
    content: object
    cda: bytes
    pdf: bytes
    document_oid: str
    replaces: str | None
    version: int
    est_name: str
    est_mssante: str
    finess: str


@lru_cache(maxsize=64)
def _letter_parts(letter_id: int) -> _LetterParts:
    """A signed letter's documents never change: cached per process (one letter, several mails)."""
    from liaison.letters.models import Letter

    letter = Letter.objects.select_related("document", "replaces", "stay__establishment").get(pk=letter_id)
    est = letter.stay.establishment
    return _LetterParts(
        content=letter.parsed(),
        cda=bytes(letter.document.cda),
        pdf=bytes(letter.document.pdf),
        document_oid=letter.document_oid,
        replaces=letter.replaces.document_oid if letter.replaces_id else None,
        version=letter.version,
        est_name=est.name,
        est_mssante=est.mssante,
        finess=est.finess_eg,
    )


def mail_spec(delivery: Delivery, config: SmtpConfig) -> MailSpec:
    parts = _letter_parts(delivery.letter_id)
    sender = config.sender or default_sender(parts.est_name, parts.est_mssante)
    return MailSpec(
        message_id=delivery.message_id,
        sender=sender,
        sender_name=parts.est_name,
        recipient=delivery.recipient_address,
        recipient_name=delivery.recipient_name,
        to_patient=delivery.recipient_role == "patient",
        content=parts.content,  # type: ignore[arg-type]
        ids=DocumentIds(
            unique_id=parts.document_oid,
            submission_set_unique_id=delivery.submission_oid,
            source_id=config.source_oid or source_id_for(parts.finess),
        ),
        cda=parts.cda,
        pdf=parts.pdf,
        nil=config.nil,
        version=parts.version,
        replaces=parts.replaces,
        ask_mdn=config.ask_mdn,
        # Fixed at creation, like the Message-ID: a retry sends the very same message.
        date=delivery.created_at,
    )


# --- SMTP -------------------------------------------------------------------------------------


class _Uncertain(Exception):
    """The connection failed after DATA started: the server may have the message."""


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(text.split())}".strip()


def explain(exc: BaseException, config: SmtpConfig, recipient: str = "") -> SendResult:
    """A French SendResult for an SMTP or network error: 5xx is final, the rest is retried."""
    where = config.where
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()))
        reply = _reply(code, text)
        if 500 <= code < 600:
            return SendResult(
                False,
                f"Adresse refusée par le serveur MSSanté ({reply}) : vérifiez l'adresse {recipient} "
                "dans l'annuaire santé, corrigez le destinataire puis renvoyez la lettre.",
                retry=False,
            )
        return SendResult(False, f"Destinataire temporairement refusé ({reply}) ; nouvel essai prévu.")
    if isinstance(exc, smtplib.SMTPSenderRefused):
        reply = _reply(exc.smtp_code, exc.smtp_error)
        if 500 <= exc.smtp_code < 600:
            return SendResult(
                False,
                f"Adresse d'expédition {exc.sender} refusée ({reply}) : vérifiez LIAISON_MSS_FROM et le "
                "certificat de la boîte applicative (BAL APP).",
                retry=False,
            )
        return SendResult(False, f"Expéditeur temporairement refusé ({reply}) ; nouvel essai prévu.")
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = _reply(exc.smtp_code, exc.smtp_error)
        if exc.smtp_code == 552:
            return SendResult(
                False,
                f"Message trop volumineux pour le serveur MSSanté ({reply}) : réduisez la taille des pièces "
                "jointes (PDF) puis renvoyez la lettre.",
                retry=False,
            )
        if 500 <= exc.smtp_code < 600:
            return SendResult(
                False,
                f"Message refusé par le serveur MSSanté ({reply}) ; il ne sera pas renvoyé.",
                retry=False,
            )
        return SendResult(
            False, f"Serveur MSSanté momentanément indisponible ({reply}) ; nouvel essai prévu."
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return SendResult(
            False,
            f"Certificat du serveur MSSanté {where} non reconnu ({exc.verify_message}) : vérifiez "
            "LIAISON_MSS_CA. Nouvel essai prévu.",
        )
    if isinstance(exc, ssl.SSLError):
        return SendResult(
            False,
            f"Échec de la négociation TLS avec {where} ({exc.reason or exc}) : vérifiez le certificat de la "
            "BAL applicative (LIAISON_MSS_CERT / LIAISON_MSS_KEY). Nouvel essai prévu.",
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return SendResult(False, f"Le serveur {where} ne propose pas STARTTLS : vérifiez LIAISON_MSS_SMTP.")
    if isinstance(exc, _Uncertain):
        return SendResult(
            False,
            f"{UNCERTAIN_PREFIX} ({where}) : le message a peut-être été reçu. "
            "Nouvel essai prévu avec le même identifiant de message.",
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected | ConnectionError | socket.timeout | OSError):
        return SendResult(
            False, f"Serveur MSSanté injoignable ({where}) : {exc or type(exc).__name__}. Nouvel essai prévu."
        )
    return SendResult(False, f"Erreur d'envoi MSSanté : {exc}. Nouvel essai prévu.")


class SmtpSender:
    """The `mssante` channel sender; keeps one connection per thread and reuses it."""

    def __init__(self, config: SmtpConfig):
        self.config = config
        self._local = threading.local()
        atexit.register(self.close)

    # connection handling
    def _connect(self) -> smtplib.SMTP:
        c = self.config
        if c.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=c.ssl_context())
        else:
            smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
        try:
            # The mail goes as one write whose last segment Nagle would hold for the peer's
            # delayed ACK (~40 ms a mail on the loopback sandbox).
            smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            smtp.ehlo()
            if c.security == "starttls":
                smtp.starttls(context=c.ssl_context())
                smtp.ehlo()
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _connection(self) -> tuple[smtplib.SMTP, bool]:
        """(connection, reused)."""
        smtp = getattr(self._local, "smtp", None)
        if smtp is not None and time.monotonic() - self._local.used > IDLE_CHECK:
            try:
                if smtp.noop()[0] != 250:
                    raise smtplib.SMTPServerDisconnected("NOOP")
            except (smtplib.SMTPException, OSError):
                self._drop()
                smtp = None
        if smtp is None:
            smtp = self._connect()
            self._local.smtp, self._local.used = smtp, time.monotonic()
            return smtp, False
        return smtp, True

    def _drop(self) -> None:
        smtp = getattr(self._local, "smtp", None)
        self._local.smtp = None
        if smtp is not None:
            with contextlib.suppress(OSError):
                smtp.close()

    def close(self) -> None:
        smtp = getattr(self._local, "smtp", None)
        if smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.quit()
            self._local.smtp = None

    # sending
    def _transaction(self, smtp: smtplib.SMTP, spec: MailSpec, data: bytes, on_data) -> str:
        mail_opts, rcpt_opts = smtp_options(spec) if smtp.has_extn("dsn") else ([], [])
        if smtp.has_extn("size"):
            mail_opts = [*mail_opts, f"SIZE={len(data)}"]
        code, resp = smtp.mail(spec.sender, mail_opts)
        if code != 250:
            smtp.rset()
            raise smtplib.SMTPSenderRefused(code, resp, spec.sender)
        code, resp = smtp.rcpt(spec.recipient, rcpt_opts)
        if code not in (250, 251):
            smtp.rset()
            raise smtplib.SMTPRecipientsRefused({spec.recipient: (code, resp)})
        on_data()
        try:
            code, resp = smtp.data(data)
        except smtplib.SMTPDataError:
            raise
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise _Uncertain(str(exc)) from exc
        return _reply(code, resp)

    def send(self, spec: MailSpec, on_data=lambda: None) -> SendResult:
        data = build_mail(spec).as_bytes(policy=MAIL_POLICY)
        for attempt in (1, 2):
            try:
                smtp, reused = self._connection()
            except (smtplib.SMTPException, OSError) as exc:
                self._drop()
                return explain(exc, self.config, spec.recipient)
            try:
                reply = self._transaction(smtp, spec, data, on_data)
            except _Uncertain as exc:
                self._drop()
                return explain(exc, self.config, spec.recipient)
            except smtplib.SMTPResponseException as exc:
                if exc.smtp_code == 421:
                    self._drop()
                return explain(exc, self.config, spec.recipient)
            except smtplib.SMTPRecipientsRefused as exc:
                self._local.used = time.monotonic()
                return explain(exc, self.config, spec.recipient)
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                # Before DATA nothing was delivered: a kept connection the server closed is
                # replaced once at once.
                self._drop()
                if reused and attempt == 1:
                    continue
                return explain(exc, self.config, spec.recipient)
            self._local.used = time.monotonic()
            dsn = "" if smtp.has_extn("dsn") else " (le serveur ne propose pas d'accusé de réception DSN)"
            return SendResult(True, f"Accepté par le serveur MSSanté : {reply}{dsn}")
        raise AssertionError("unreachable")

    def __call__(self, delivery: Delivery) -> SendResult:
        if not delivery.recipient_address.isascii():  # operators issue ASCII addresses only
            return SendResult(
                False,
                f"Adresse MSSanté invalide (caractères accentués) : {delivery.recipient_address}. "
                "Corrigez l'adresse du destinataire dans l'annuaire puis renvoyez la lettre.",
                retry=False,
            )
        try:
            spec = mail_spec(delivery, self.config)
        except XdsMetadataError as exc:
            return SendResult(False, f"Métadonnées XDM impossibles : {exc}", retry=False)
        if previous_attempt_in_doubt(delivery):
            DeliveryEvent.objects.create(
                delivery=delivery,
                state=Delivery.State.SENDING,
                detail=(
                    "Renvoi après une interruption pendant la transmission précédente : le destinataire "
                    f"peut recevoir deux fois le message (même identifiant {delivery.message_id})."
                ),
            )

        def on_data() -> None:
            record_data_marker(delivery)

        return self.send(spec, on_data)


def record_data_marker(delivery: Delivery) -> None:
    """The DATA marker, committed before DATA. On PostgreSQL without waiting for the WAL flush
    (`synchronous_commit = off`, about 0.2 ms instead of a disk sync): a killed *worker* cannot lose
    it; only a crash of the database server in the next fraction of a second could, and the resend
    would then go unflagged."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SET LOCAL synchronous_commit TO OFF")
        DeliveryEvent.objects.create(delivery=delivery, state=DATA_EVENT, detail=DATA_DETAIL)


def previous_attempt_in_doubt(delivery: Delivery) -> bool:
    """Did an earlier attempt start DATA without a definite answer (worker killed, connection lost)?"""
    if delivery.attempts <= 1:
        return False
    events = list(delivery.events.order_by("-at", "-id").values_list("state", "detail")[:2])
    if not events:
        return False
    if events[0] == (DATA_EVENT, DATA_DETAIL):  # killed after DATA started, before settle
        return True
    state, detail = events[0]
    return state == Delivery.State.FAILED and detail.startswith(UNCERTAIN_PREFIX)


_sender: SmtpSender | None = None


def configure(config: SmtpConfig | None) -> None:
    """Register the MSSanté sender when LIAISON_MSS_SMTP names a server (`SmtpConfig.from_env()`)."""
    global _sender
    if config is None:
        return
    if _sender is not None:
        _sender.close()
    _sender = SmtpSender(config)
    worker.register(Delivery.Channel.MSSANTE, _sender)
    log.info("MSSanté : envoi par %s (%s)", config.where, config.security)
