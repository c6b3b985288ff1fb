"""The sandbox's registry and repository: one SQLite file in the store folder (stdlib only).

Idempotent on the document uniqueId: a second submission of a held uniqueId is refused with
`XDSDuplicateUniqueIdInRegistry` when the content is identical, `XDSNonIdenticalHash`
otherwise, as an XDS registry does; nothing is stored twice. An RPLC deprecates the replaced
entry. Every transaction is logged, so a test can count what was accepted.
Several threads (or sandbox processes on the same folder) may write: each write is one
`BEGIN IMMEDIATE` transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from liaison.delivery.iti41 import RegistryError

APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
DEPRECATED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated"
STATUS_LABELS = {APPROVED: "En vigueur", DEPRECATED: "Remplacé"}
MASKS = {
    "MASQUE_PS": "masked_from_professionals",
    "INVISIBLE_PATIENT": "invisible_to_patient",
    "INVISIBLE_REPRESENTANTS_LEGAUX": "invisible_to_legal_representatives",
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    unique_id TEXT PRIMARY KEY,
    entry_uuid TEXT UNIQUE NOT NULL,
    ins TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    creation_time TEXT NOT NULL,
    submission_time TEXT NOT NULL,
    submission_set TEXT NOT NULL,
    author_institution TEXT NOT NULL,
    confidentiality TEXT NOT NULL,
    masked_from_professionals INTEGER NOT NULL DEFAULT 0,
    invisible_to_patient INTEGER NOT NULL DEFAULT 0,
    invisible_to_legal_representatives INTEGER NOT NULL DEFAULT 0,
    hidden_by_patient INTEGER NOT NULL DEFAULT 0,
    replaces TEXT NOT NULL DEFAULT '',
    sha256 TEXT NOT NULL,
    sha1 TEXT NOT NULL,
    size INTEGER NOT NULL,
    content BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_ins ON documents (ins);
CREATE TABLE IF NOT EXISTS submission_sets (unique_id TEXT PRIMARY KEY, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS transactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    message_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    codes TEXT NOT NULL,
    unique_ids TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class NewDocument:
    unique_id: str
    entry_uuid: str
    ins: str
    patient_id: str
    title: str
    creation_time: str
    author_institution: str
    confidentiality: list[tuple[str, str]]
    content: bytes


class Store:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "dmp-sandbox.sqlite3"
        self._local = threading.local()
        with self._db() as db:
            db.executescript(_SCHEMA)

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    # --- writing --------------------------------------------------------------------------

    def file(
        self,
        documents: list[NewDocument],
        submission_set: str,
        replacements: list[tuple[str, str]],
        message_id: str,
    ) -> list[RegistryError]:
        """Register a submission atomically; return the registry errors (none = stored)."""
        now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            errors = self._conflicts(db, documents, submission_set, replacements)
            if not errors:
                for _, old_entry in replacements:
                    db.execute(
                        "UPDATE documents SET status = ? WHERE entry_uuid = ?", (DEPRECATED, old_entry)
                    )
                replaced = {new: old for new, old in replacements}
                for d in documents:
                    codes = {code for code, _ in d.confidentiality}
                    db.execute(
                        "INSERT INTO documents (unique_id, entry_uuid, ins, patient_id, title, status, "
                        "creation_time, submission_time, submission_set, author_institution, "
                        "confidentiality, masked_from_professionals, invisible_to_patient, "
                        "invisible_to_legal_representatives, replaces, sha256, sha1, size, content) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            d.unique_id,
                            d.entry_uuid,
                            d.ins,
                            d.patient_id,
                            d.title,
                            APPROVED,
                            d.creation_time,
                            now,
                            submission_set,
                            d.author_institution,
                            json.dumps(d.confidentiality),
                            "MASQUE_PS" in codes,
                            "INVISIBLE_PATIENT" in codes,
                            "INVISIBLE_REPRESENTANTS_LEGAUX" in codes,
                            replaced.get(d.entry_uuid, ""),
                            hashlib.sha256(d.content).hexdigest(),
                            hashlib.sha1(d.content).hexdigest(),
                            len(d.content),
                            d.content,
                        ),
                    )
                db.execute("INSERT INTO submission_sets (unique_id, at) VALUES (?, ?)", (submission_set, now))
            self._log(db, now, message_id, errors, [d.unique_id for d in documents])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return errors

    def _conflicts(
        self,
        db: sqlite3.Connection,
        documents: list[NewDocument],
        submission_set: str,
        replacements: list[tuple[str, str]],
    ) -> list[RegistryError]:
        errors: list[RegistryError] = []
        for d in documents:
            row = db.execute("SELECT sha256 FROM documents WHERE unique_id = ?", (d.unique_id,)).fetchone()
            if row is None:
                continue
            if row["sha256"] == hashlib.sha256(d.content).hexdigest():
                errors.append(
                    RegistryError(
                        "XDSDuplicateUniqueIdInRegistry",
                        f"Le document {d.unique_id} est déjà enregistré, avec un contenu identique.",
                    )
                )
            else:
                errors.append(
                    RegistryError(
                        "XDSNonIdenticalHash",
                        f"Le document {d.unique_id} est déjà enregistré avec un contenu différent.",
                    )
                )
        if db.execute("SELECT 1 FROM submission_sets WHERE unique_id = ?", (submission_set,)).fetchone():
            errors.append(
                RegistryError(
                    "XDSDuplicateUniqueIdInRegistry",
                    f"Le lot de soumission {submission_set} est déjà enregistré.",
                )
            )
        if errors:
            return errors
        by_entry = {d.entry_uuid: d for d in documents}
        for new_entry, old_entry in replacements:
            old = db.execute(
                "SELECT status, patient_id FROM documents WHERE entry_uuid = ?", (old_entry,)
            ).fetchone()
            if old is None:
                errors.append(
                    RegistryError(
                        "UnresolvedReferenceException",
                        f"Le document remplacé ({old_entry}) est inconnu du DMP.",
                    )
                )
            elif old["status"] != APPROVED:
                errors.append(
                    RegistryError(
                        "XDSReplaceFailed", f"Le document remplacé ({old_entry}) n'est plus en vigueur."
                    )
                )
            elif new_entry in by_entry and old["patient_id"] != by_entry[new_entry].patient_id:
                errors.append(
                    RegistryError(
                        "XDSPatientIdDoesNotMatch",
                        "Le document remplacé appartient à un autre patient.",
                    )
                )
        return errors

    def log_refusal(self, message_id: str, errors: list[RegistryError], unique_ids: list[str]) -> None:
        now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
        self._log(self._db(), now, message_id, errors, unique_ids)

    @staticmethod
    def _log(
        db: sqlite3.Connection, now: str, message_id: str, errors: list[RegistryError], unique_ids: list[str]
    ) -> None:
        db.execute(
            "INSERT INTO transactions (at, message_id, outcome, codes, unique_ids) VALUES (?, ?, ?, ?, ?)",
            (
                now,
                message_id,
                "failure" if errors else "success",
                json.dumps([e.code for e in errors]),
                json.dumps(unique_ids),
            ),
        )

    def set_hidden_by_patient(self, ins: str, unique_id: str, hidden: bool) -> bool:
        cur = self._db().execute(
            "UPDATE documents SET hidden_by_patient = ? WHERE ins = ? AND unique_id = ?",
            (int(hidden), ins, unique_id),
        )
        return cur.rowcount == 1

    # --- reading --------------------------------------------------------------------------

    def documents(self, ins: str | None = None) -> list[dict]:
        sql = "SELECT * FROM documents"
        args: tuple = ()
        if ins:
            sql, args = sql + " WHERE ins = ?", (ins,)
        rows = self._db().execute(sql + " ORDER BY submission_time, unique_id", args).fetchall()
        return [self._public(r) for r in rows]

    def document(self, unique_id: str) -> tuple[dict, bytes] | None:
        row = self._db().execute("SELECT * FROM documents WHERE unique_id = ?", (unique_id,)).fetchone()
        return (self._public(row), bytes(row["content"])) if row else None

    def patients(self) -> list[tuple[str, int]]:
        rows = self._db().execute("SELECT ins, COUNT(*) AS n FROM documents GROUP BY ins ORDER BY ins")
        return [(r["ins"], r["n"]) for r in rows]

    def stats(self) -> dict:
        db = self._db()
        out = {"documents": db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]}
        rows = db.execute("SELECT outcome, codes FROM transactions").fetchall()
        out["accepted"] = sum(1 for r in rows if r["outcome"] == "success")
        refused: dict[str, int] = {}
        for r in rows:
            for code in json.loads(r["codes"]):
                refused[code] = refused.get(code, 0) + 1
        out["refused"] = refused
        return out

    @staticmethod
    def _public(row: sqlite3.Row) -> dict:
        masked = bool(row["masked_from_professionals"]) or bool(row["hidden_by_patient"])
        return {
            "uniqueId": row["unique_id"],
            "entryUUID": row["entry_uuid"],
            "ins": row["ins"],
            "patientId": row["patient_id"],
            "title": row["title"],
            "status": row["status"].rsplit(":", 1)[-1],
            "creationTime": row["creation_time"],
            "submissionTime": row["submission_time"],
            "authorInstitution": row["author_institution"],
            "confidentiality": [c for c, _ in json.loads(row["confidentiality"])],
            "hidden": {
                "masked_from_professionals": masked,
                "hidden_by_patient": bool(row["hidden_by_patient"]),
                "invisible_to_patient": bool(row["invisible_to_patient"]),
                "invisible_to_legal_representatives": bool(row["invisible_to_legal_representatives"]),
            },
            "replaces": row["replaces"],
            "sha256": row["sha256"],
            "size": row["size"],
        }
