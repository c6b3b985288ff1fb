"""Real MSSanté-like peers on loopback for the tests: Postfix (SMTP, STARTTLS, client certificate
required, DSN) delivering by LMTP to Dovecot (IMAPS, login by client certificate), with a
throw-away CA — the recipe of dmp-and-mssante.md §7.1, in a temporary directory and on free ports.

`MailPeers(base).start()` installs the Debian packages if they are missing
(`postfix dovecot-imapd dovecot-lmtpd`), writes the certificates and configurations, starts both
daemons; `.stop()` stops them and removes the line it added to `/etc/postfix/main.cf`.
`.stop_smtp()` / `.start_smtp()` take Postfix down and up again (outage tests).
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import shutil
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

APT_PACKAGES = ["postfix", "dovecot-imapd", "dovecot-lmtpd"]
DOMAINS = ["hopital.mssante.fr", "medecin.mssante.fr", "patient.mssante.fr", "ch-de-test.mssante.fr"]
ETC_MAIN_CF = Path("/etc/postfix/main.cf")


class PeersUnavailable(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise PeersUnavailable(f"port {port} not listening after {timeout} s")


def ensure_packages() -> None:
    if shutil.which("postfix") and shutil.which("dovecot") and Path("/usr/lib/dovecot/lmtp").exists():
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(
        ["debconf-set-selections"],
        input=b"postfix postfix/main_mailer_type select No configuration\n",
        check=True,
    )
    subprocess.run(
        ["apt-get", "install", "-y", "-q", *APT_PACKAGES], env=env, check=True, capture_output=True
    )


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_ca(d: Path) -> None:
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem"),
        "-subj", "/O=Liaison tests/CN=IGC Sante TEST",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip


def make_cert(d: Path, name: str, cn: str, usage: str, san: str | None = None) -> tuple[Path, Path]:
    key, csr, pem, ext = (d / f"{name}.{x}" for x in ("key", "csr", "pem", "ext"))
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={cn}"
    )
    ext.write_text(f"extendedKeyUsage={usage}\n" + (f"subjectAltName={san}\n" if san else ""))
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(d / "ca.pem"), "-CAkey", str(d / "ca.key"),
        "-CAcreateserial", "-days", "2", "-out", str(pem), "-extfile", str(ext),
    )  # fmt: skip
    key.chmod(0o644)  # read by the daemons' unprivileged users in this throw-away setup
    return pem, key


MASTER_CF = """\
127.0.0.1:{smtp_port} inet n - n - - smtpd
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_req_ccert=yes
  -o smtpd_recipient_restrictions=permit_tls_all_clientcerts,reject
  -o smtpd_relay_restrictions=permit_tls_all_clientcerts,reject
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {base}/pf-spool
data_directory = {base}/pf-data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.test.mssante.fr
mydomain = test.mssante.fr
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
virtual_mailbox_domains = {domains}
virtual_transport = lmtp:unix:private/dovecot-lmtp
smtpd_tls_cert_file = {base}/certs/server.pem
smtpd_tls_key_file = {base}/certs/server.key
smtpd_tls_CAfile = {base}/certs/ca.pem
smtpd_tls_ask_ccert = yes
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
maillog_file = {base}/log/postfix.log
maillog_file_prefixes = {base}/log
biff = no
message_size_limit = 26214400
default_process_limit = 50
"""

DOVECOT_CONF = """\
instance_name = liaison-test-{port}
base_dir = {base}/dovecot-run
state_dir = {base}/dovecot-state
log_path = {base}/log/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
default_internal_user = dovecot
default_login_user = dovenull
mail_location = maildir:{base}/vmail/%d/%n
first_valid_uid = 1
postmaster_address = postmaster@test.mssante.fr
ssl = required
ssl_cert = <{base}/certs/server.pem
ssl_key = <{base}/certs/server.key
ssl_ca = <{base}/certs/ca.pem
ssl_verify_client_cert = yes
ssl_require_crl = no
ssl_cert_username_field = commonName
auth_ssl_require_client_cert = yes
auth_ssl_username_from_cert = yes
auth_mechanisms = plain external
auth_username_format = %Lu
passdb {{
  driver = static
  args = nopassword=y
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={base}/vmail/%d/%n
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
service lmtp {{
  unix_listener {base}/pf-spool/private/dovecot-lmtp {{
    mode = 0600
    user = postfix
    group = postfix
  }}
}}
protocol lmtp {{
  ssl = no
}}
"""


@dataclass
class Client:
    """A client certificate and key (CN = the mailbox address)."""

    address: str
    cert: Path
    key: Path


class MailPeers:
    def __init__(self, base: Path):
        self.base = Path(base)
        self.smtp_port = free_port()
        self.imap_port = free_port()
        self.certs = self.base / "certs"
        self.pf = self.base / "postfix"
        self.dovecot_conf = self.base / "dovecot.conf"
        self._added_main_cf_line: str | None = None
        self._created_main_cf = False

    @property
    def ca(self) -> Path:
        return self.certs / "ca.pem"

    def client(self, address: str) -> Client:
        name = "client-" + address.replace("@", "_at_")
        pem, key = self.certs / f"{name}.pem", self.certs / f"{name}.key"
        if not pem.exists():
            make_cert(self.certs, name, address, "clientAuth")
        return Client(address, pem, key)

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> MailPeers:
        ensure_packages()
        for d in ("certs", "log", "vmail", "pf-data", "dovecot-run", "dovecot-state", "postfix"):
            (self.base / d).mkdir(parents=True, exist_ok=True)
        (self.base / "pf-spool" / "private").mkdir(parents=True, exist_ok=True)
        self.base.chmod(0o755)
        shutil.chown(self.base / "vmail", "nobody", "nogroup")
        shutil.chown(self.base / "pf-data", "postfix", "postfix")
        shutil.chown(self.base / "pf-spool" / "private", "postfix", "root")  # else master fails to start
        make_ca(self.certs)
        make_cert(self.certs, "server", "localhost", "serverAuth", "DNS:localhost,IP:127.0.0.1")
        fmt = {"base": self.base, "domains": " ".join(DOMAINS), "smtp_port": self.smtp_port}
        (self.pf / "main.cf").write_text(MAIN_CF.format(**fmt))
        (self.pf / "master.cf").write_text(MASTER_CF.format(**fmt))
        self.dovecot_conf.write_text(DOVECOT_CONF.format(base=self.base, port=self.imap_port))
        self._register_config_dir()
        try:
            self._start_daemons()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_daemons(self) -> None:
        # Daemons keep inherited pipes open: never capture their output.
        quiet = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        subprocess.run(["dovecot", "-c", str(self.dovecot_conf)], check=True, **quiet)
        wait_port(self.imap_port)
        self.start_smtp()

    def _register_config_dir(self) -> None:
        line = f"alternate_config_directories = {self.pf}\n"
        if not ETC_MAIN_CF.exists():
            ETC_MAIN_CF.write_text(line)
            self._created_main_cf = True
        else:
            text = ETC_MAIN_CF.read_text()
            ETC_MAIN_CF.write_text(text + ("" if text.endswith("\n") or not text else "\n") + line)
        self._added_main_cf_line = line

    def _postfix(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        # Postfix's master daemon keeps inherited pipes open: its output goes to a file.
        with open(self.base / "log" / "postfix-cmd.log", "ab") as out:
            return subprocess.run(
                ["postfix", "-c", str(self.pf), *args],
                check=check,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )

    def start_smtp(self) -> None:
        done = self._postfix("start", check=False)
        if done.returncode != 0:
            log = (self.base / "log" / "postfix.log").read_text(errors="replace")[-2000:]
            raise PeersUnavailable(f"postfix start failed ({done.returncode}): {log}")
        wait_port(self.smtp_port)

    def stop_smtp(self) -> None:
        self._postfix("stop", check=False)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.smtp_port), 0.3).close()
            except OSError:
                return
            time.sleep(0.1)

    def stop(self) -> None:
        self._postfix("stop", check=False)
        subprocess.run(
            ["doveadm", "-c", str(self.dovecot_conf), "stop"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if self._created_main_cf:
            ETC_MAIN_CF.unlink(missing_ok=True)
        elif self._added_main_cf_line and ETC_MAIN_CF.exists():
            ETC_MAIN_CF.write_text(ETC_MAIN_CF.read_text().replace(self._added_main_cf_line, ""))

    def flush(self) -> None:
        """Ask Postfix to deliver what is queued now."""
        self._postfix("flush", check=False)

    # --- reading mailboxes ----------------------------------------------------------------------

    def imap(self, address: str) -> imaplib.IMAP4_SSL:
        c = self.client(address)
        ctx = ssl.create_default_context(cafile=str(self.ca))
        ctx.load_cert_chain(str(c.cert), str(c.key))
        imap = imaplib.IMAP4_SSL("127.0.0.1", self.imap_port, ssl_context=ctx, timeout=30)
        imap.authenticate("EXTERNAL", lambda _: b"")
        return imap

    def fetch_all(self, address: str, folder: str = "INBOX") -> list[bytes]:
        imap = self.imap(address)
        try:
            typ, _ = imap.select(folder, readonly=True)
            if typ != "OK":
                return []
            _, data = imap.uid("SEARCH", None, "ALL")
            out = []
            for uid in data[0].split():
                _, msg = imap.uid("FETCH", uid, "(BODY.PEEK[])")
                out += [part[1] for part in msg if isinstance(part, tuple)]
            return out
        finally:
            imap.logout()

    def wait_for(self, address: str, count: int, timeout: float = 30.0, folder: str = "INBOX") -> list[bytes]:
        """The mails of a mailbox once at least `count` are there (LMTP delivery is asynchronous)."""
        deadline = time.monotonic() + timeout
        mails: list[bytes] = []
        while time.monotonic() < deadline:
            mails = self.fetch_all(address, folder)
            if len(mails) >= count:
                return mails
            time.sleep(0.2)
        return mails

    def count(self, address: str) -> int:
        return len(self.fetch_all(address))

    def deliver(self, raw: bytes, sender: str, recipient: str) -> None:
        """Submit a mail as `sender` (its client certificate), e.g. an MDN played by the recipient."""
        import smtplib

        c = self.client(sender)
        ctx = ssl.create_default_context(cafile=str(self.ca))
        ctx.load_cert_chain(str(c.cert), str(c.key))
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=30) as smtp:
            smtp.starttls(context=ctx)
            smtp.sendmail(sender, [recipient], raw)
