"""Produce a signed version's documents: CDA (built, then validated with the ANS artefacts) and
the patient's PDF/A-3b carrying it. Called at signature, inside its transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading

from liaison.core.content import LetterContent, Professional
from liaison.documents.cda import CdaBuildError, DocumentId, DocumentMeta, build_cda
from liaison.documents.pdf import render_pdf
from liaison.documents.validation import Finding, LdlSesValidator, errors
from liaison.letters.models import Letter, LetterDocument

_lock = threading.Lock()
_validator: LdlSesValidator | None = None


class DocumentError(Exception):
    """The letter's CDA cannot be produced or is not valid; the message is French."""

    def __init__(self, message: str, findings: list[Finding] | None = None):
        super().__init__(message)
        self.findings = findings or []


def validator() -> LdlSesValidator:
    """One validator per process: compiling the ANS schematrons takes about two seconds."""
    global _validator
    with _lock:
        if _validator is None:
            _validator = LdlSesValidator()
        return _validator


def document_meta(letter: Letter, author: Professional, signed_at: dt.datetime) -> DocumentMeta:
    replaced = letter.replaces
    return DocumentMeta(
        id=DocumentId(letter.document_oid),
        set_id=DocumentId(letter.set_oid),
        version_number=letter.version,
        effective_time=signed_at,
        author=author,
        signed_at=signed_at,
        replaces=DocumentId(replaced.document_oid) if replaced else None,
    )


def check(letter: Letter, content: LetterContent, author: Professional, signed_at: dt.datetime) -> bytes:
    """Build and validate the CDA; refuse with the reasons if invalid. Nothing is stored."""
    return _valid_cda(content, document_meta(letter, author, signed_at))


def _valid_cda(content: LetterContent, meta: DocumentMeta) -> bytes:
    try:
        cda = build_cda(content, meta)
    except CdaBuildError as exc:
        raise DocumentError(str(exc)) from exc
    problems = errors(validator().validate(cda))
    if problems:
        detail = " ; ".join(f"{f.message} ({f.field or f.location})" for f in problems[:5])
        raise DocumentError(f"Le document CDA n'est pas conforme au modèle LDL-SES : {detail}", problems)
    return cda


def produce(
    letter: Letter, content: LetterContent, author: Professional, signed_at: dt.datetime
) -> LetterDocument:
    """Build, validate and store the CDA and the PDF; refuse with the reasons if invalid."""
    meta = document_meta(letter, author, signed_at)
    cda = _valid_cda(content, meta)
    pdf = render_pdf(content, meta, cda)
    return LetterDocument.objects.create(
        letter=letter,
        cda=cda,
        cda_sha256=hashlib.sha256(cda).hexdigest(),
        pdf=pdf,
        pdf_sha256=hashlib.sha256(pdf).hexdigest(),
    )
