"""What the `liaison` commands share: argument types and file access, every error in French.

`iso_date` and `port` are argparse types whose refusals read in French; `read_bytes`,
`read_text`, `write_bytes` and `make_dir` turn an `OSError` into a `CommandError` naming the
path and the reason (`os_reason`), so that a missing file, a folder given for a file or an
unwritable output never ends in a traceback. `french_usage` translates argparse's own messages
(missing or unknown arguments, invalid values) for `liaison.cli`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import errno
import re
from pathlib import Path

from django.core.management.base import CommandError

_ERRNO_FR = {
    errno.ENOENT: "fichier ou dossier introuvable",
    errno.EACCES: "accès refusé",
    errno.EPERM: "opération non permise",
    errno.EISDIR: "c'est un dossier, pas un fichier",
    errno.ENOTDIR: "un élément du chemin n'est pas un dossier",
    errno.EEXIST: "existe déjà",
    errno.EROFS: "système de fichiers en lecture seule",
    errno.ENOSPC: "plus de place sur le disque",
    errno.EADDRINUSE: "adresse ou port déjà utilisé",
    errno.EADDRNOTAVAIL: "adresse non disponible sur ce poste",
    errno.ECONNREFUSED: "connexion refusée",
    errno.ETIMEDOUT: "délai dépassé",
}


def os_reason(exc: OSError) -> str:
    """« <chemin> : <raison en français> » for an OSError."""
    reason = _ERRNO_FR.get(exc.errno or -1) or exc.strerror or str(exc)
    return f"{exc.filename} : {reason}" if exc.filename else reason


def iso_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"« {value} » n'est pas une date AAAA-MM-JJ") from None


def port(value: str) -> int:
    if not value.isdigit() or not 0 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"« {value} » n'est pas un port (0 à 65535)")
    return int(value)


def address(value: str) -> str:
    """`HOTE:PORT` or `PORT` (the web server's `--addr`)."""
    host, _, number = value.rpartition(":")
    if not number.isdigit() or not 0 < int(number) <= 65535 or (":" in value and not host):
        raise argparse.ArgumentTypeError(f"« {value} » n'est pas une adresse HÔTE:PORT (ex. 127.0.0.1:8000)")
    return value


def read_bytes(path: Path, what: str = "Fichier", max_bytes: int | None = None) -> bytes:
    try:
        if max_bytes is not None and path.stat().st_size > max_bytes:
            size = path.stat().st_size / 1024 / 1024
            raise CommandError(
                f"{what} trop volumineux : {path} ({size:.1f} Mo, {max_bytes / 1024 / 1024:.0f} Mo au plus)."
            )
        return path.read_bytes()
    except OSError as exc:
        raise CommandError(f"{what} illisible : {os_reason(exc)}.") from exc


def read_text(path: Path, what: str = "Fichier", max_bytes: int | None = None) -> str:
    data = read_bytes(path, what, max_bytes)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CommandError(
            f"{what} {path} : ce n'est pas un texte UTF-8 (octet invalide à la position {exc.start})."
        ) from exc


def make_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"Dossier de sortie impossible à créer : {os_reason(exc)}.") from exc
    return path


def write_bytes(path: Path, data: bytes) -> Path:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise CommandError(f"Écriture impossible : {os_reason(exc)}.") from exc
    return path


# --- argparse's messages, in French ------------------------------------------------------------

_USAGE = (
    (r"the following arguments are required: (.*)", "argument(s) obligatoire(s) manquant(s) : {0}"),
    (
        r"argument (\S+): invalid choice: (.*?) \(choose from (.*)\)",
        "{0} : choix inconnu {1} (possibles : {2})",
    ),
    (r"argument (\S+): invalid int value: (.*)", "{0} : {1} n'est pas un nombre entier"),
    (r"argument (\S+): invalid float value: (.*)", "{0} : {1} n'est pas un nombre"),
    (r"argument (\S+): invalid \S+ value: (.*)", "{0} : valeur invalide {1}"),
    (r"argument (\S+): expected one argument", "{0} : une valeur est attendue"),
    (r"argument (\S+): expected at least one argument", "{0} : au moins une valeur est attendue"),
    (r"argument (\S+): not allowed with argument (\S+)", "{0} ne peut pas aller avec {1}"),
    (r"unrecognized arguments: (.*)", "argument(s) non reconnu(s) : {0}"),
    (r"argument (\S+): (.*)", "{0} : {1}"),  # our own ArgumentTypeError messages, already French
)


def french_usage(message: str) -> str:
    for pattern, french in _USAGE:
        m = re.fullmatch(pattern, message)
        if m:
            return french.format(*m.groups())
    return message
