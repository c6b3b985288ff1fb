"""The deliveries' configuration, read once from the environment by the entry points.

`liaison worker` reads a `WorkerConfig` (the DMP and MSSanté peers, the stale claim limit, the
metrics address) and `liaison read-acks` an `AckConfig` (where the acknowledgements arrive); each
passes it down to the senders, the outbox and the reader, which read no environment themselves.
Each `from_env` checks the values and says in French which variable is wrong. The variables and
their defaults are those of README « Mise en production ».
"""

from __future__ import annotations

import datetime as dt
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from liaison.envconfig import ConfigError, env_seconds

DEFAULT_NIL = "LIAISON-NON-DECLARE"  # X-MSS-NIL when the product is not declared
STALE_CLAIM = dt.timedelta(minutes=5)  # default of LIAISON_OUTBOX_STALE_SECONDS


@dataclass(frozen=True, slots=True)
class DmpConfig:
    """The DMP repository (LIAISON_DMP_*)."""

    url: str
    cert: str | None = None
    key: str | None = None
    ca: str | None = None
    timeout: float = 30.0
    homologation: str = "NON-HOMOLOGUE"
    responsible: str | None = None  # the VIHF's Identifiant_Structure responsible, else the author

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> DmpConfig | None:
        """None when LIAISON_DMP_URL is unset: no DMP sender."""
        url = env.get("LIAISON_DMP_URL", "").strip()
        if not url:
            return None
        return cls(
            url=url,
            cert=env.get("LIAISON_DMP_CERT") or None,
            key=env.get("LIAISON_DMP_KEY") or None,
            ca=env.get("LIAISON_DMP_CA") or None,
            timeout=env_seconds(env, "LIAISON_DMP_TIMEOUT", 30.0),
            homologation=env.get("LIAISON_DMP_HOMOLOGATION") or "NON-HOMOLOGUE",
            responsible=env.get("LIAISON_DMP_RESPONSABLE") or None,
        )


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """The MSSanté operator's SMTP server and the application mailbox (LIAISON_MSS_*)."""

    host: str
    port: int
    security: str  # "plain", "starttls", "tls"
    cert: str | None = None
    key: str | None = None
    ca: str | None = None
    sender: str | None = None
    nil: str = DEFAULT_NIL
    ask_mdn: bool = False
    source_oid: str | None = None
    timeout: float = 30.0

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.ca)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.cert:
            ctx.load_cert_chain(self.cert, self.key)
        return ctx

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> SmtpConfig | None:
        """None when LIAISON_MSS_SMTP is unset: no MSSanté sender."""
        url = env.get("LIAISON_MSS_SMTP", "").strip()
        if not url:
            return None
        parts = urlsplit(url)
        schemes = {"smtp": ("plain", 25), "smtp+starttls": ("starttls", 587), "smtps": ("tls", 465)}
        if parts.scheme not in schemes or not parts.hostname:
            raise ConfigError(
                f"LIAISON_MSS_SMTP invalide : {url!r}. Formes admises : smtp://hôte:port, "
                "smtp+starttls://hôte:port, smtps://hôte:port."
            )
        security, default_port = schemes[parts.scheme]
        cert, key = env.get("LIAISON_MSS_CERT") or None, env.get("LIAISON_MSS_KEY") or None
        if security != "plain" and bool(cert) != bool(key):
            raise ConfigError(
                "LIAISON_MSS_CERT et LIAISON_MSS_KEY vont ensemble (certificat et clé de la BAL)."
            )
        return cls(
            host=parts.hostname,
            port=parts.port or default_port,
            security=security,
            cert=cert,
            key=key,
            ca=env.get("LIAISON_MSS_CA") or None,
            sender=env.get("LIAISON_MSS_FROM") or None,
            nil=env.get("LIAISON_MSS_NIL") or DEFAULT_NIL,
            ask_mdn=env.get("LIAISON_MSS_MDN", "") in ("1", "true", "oui", "yes"),
            source_oid=env.get("LIAISON_XDS_SOURCE_OID") or None,
        )


@dataclass(frozen=True, slots=True)
class ImapConfig:
    """The application mailbox read over IMAP for the acknowledgements (LIAISON_MSS_IMAP)."""

    host: str
    port: int
    security: str  # "tls", "starttls", "plain"
    user: str
    password: str
    cert: str | None = None
    key: str | None = None
    ca: str | None = None
    folder: str = "INBOX"

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.ca)
        if self.cert:
            ctx.load_cert_chain(self.cert, self.key)
        return ctx

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> ImapConfig | None:
        """None when LIAISON_MSS_IMAP is unset."""
        url = env.get("LIAISON_MSS_IMAP", "").strip()
        if not url:
            return None
        parts = urlsplit(url)
        schemes = {"imaps": ("tls", 993), "imap+starttls": ("starttls", 143), "imap": ("plain", 143)}
        if parts.scheme not in schemes or not parts.hostname:
            raise ConfigError(
                f"LIAISON_MSS_IMAP invalide : {url!r}. Formes admises : "
                "imaps://utilisateur:mot-de-passe@hôte:993, "
                "imap+starttls://hôte:143 (avec LIAISON_MSS_CERT / LIAISON_MSS_KEY pour "
                "l'authentification par certificat)."
            )
        security, port = schemes[parts.scheme]
        return cls(
            host=parts.hostname,
            port=parts.port or port,
            security=security,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            cert=env.get("LIAISON_MSS_CERT") or None,
            key=env.get("LIAISON_MSS_KEY") or None,
            ca=env.get("LIAISON_MSS_CA") or None,
            folder=parts.path.strip("/") or "INBOX",
        )


@dataclass(frozen=True, slots=True)
class AckConfig:
    """Where `liaison read-acks` finds the acknowledgements: a Maildir tree (the demo's
    LIAISON_MSS_MAILDIR_ACKS) and/or an IMAP mailbox; LIAISON_MSS_FROM names the application
    mailbox (else every establishment's default one)."""

    maildir: str | None = None
    imap: ImapConfig | None = None
    sender: str | None = None

    @property
    def configured(self) -> bool:
        return bool(self.maildir or self.imap)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> AckConfig:
        return cls(
            maildir=env.get("LIAISON_MSS_MAILDIR_ACKS") or None,
            imap=ImapConfig.from_env(env),
            sender=env.get("LIAISON_MSS_FROM") or None,
        )


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """What `liaison worker` needs: its peers (None: channel not configured), how long a claim
    holds before another worker takes the delivery back, where to serve its metrics."""

    dmp: DmpConfig | None = None
    mss: SmtpConfig | None = None
    stale_claim: dt.timedelta = STALE_CLAIM
    metrics: str = ""  # HOST:PORT, or "" for none

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> WorkerConfig:
        stale = env_seconds(env, "LIAISON_OUTBOX_STALE_SECONDS", STALE_CLAIM.total_seconds())
        return cls(
            dmp=DmpConfig.from_env(env),
            mss=SmtpConfig.from_env(env),
            stale_claim=dt.timedelta(seconds=stale),
            metrics=env.get("LIAISON_WORKER_METRICS", ""),
        )
