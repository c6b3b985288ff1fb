"""Integrity of the signed letters: each signed (or superseded) version's content, CDA and PDF
still match the sha-256 recorded at signature. Run after a restore (`liaison verify-documents`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from liaison.letters.lifecycle import content_sha256
from liaison.letters.models import Letter, LetterDocument


@dataclass(frozen=True)
class Mismatch:
    letter_id: int
    document_oid: str
    what: str  # French: which part no longer matches


def verify(using: str = "default") -> tuple[int, list[Mismatch]]:
    """(how many signed versions were checked, what does not match)."""
    signed = Letter.objects.using(using).filter(status__in=[Letter.Status.SIGNED, Letter.Status.SUPERSEDED])
    documents = {
        d.letter_id: d for d in LetterDocument.objects.using(using).filter(letter__in=signed.values("pk"))
    }
    found: list[Mismatch] = []
    count = 0
    for letter in signed.only("pk", "document_oid", "content", "content_sha256", "status").iterator():
        count += 1
        if content_sha256(letter.content) != letter.content_sha256:
            found.append(Mismatch(letter.pk, letter.document_oid, "contenu signé"))
        doc = documents.get(letter.pk)
        if doc is None:
            found.append(Mismatch(letter.pk, letter.document_oid, "documents CDA et PDF absents"))
            continue
        if hashlib.sha256(bytes(doc.cda)).hexdigest() != doc.cda_sha256:
            found.append(Mismatch(letter.pk, letter.document_oid, "CDA"))
        if hashlib.sha256(bytes(doc.pdf)).hexdigest() != doc.pdf_sha256:
            found.append(Mismatch(letter.pk, letter.document_oid, "PDF"))
    return count, found
