"""What the CDA needs that the content may lack: `check` raises `CdaBuildError` with French messages
naming the form fields (ldl-ses-cda.md §4: entries consistency, exit-mode value set, dates).

The content's own checks in strict mode (`content_problems(strict=True)`: what any document built
from the letter needs), then what only the CDA needs: the patient's identifiers (INS rules, IPP),
the establishment (FINESS, name, facility type), the signing author's RPPS, time zones, the
confidentiality, status and version codes.
"""

from __future__ import annotations

from collections.abc import Iterator

from liaison.core.content import IdentityStatus, LetterContent, Sex, content_problems
from liaison.core.identifiers import INS_OIDS
from liaison.documents.cda.codes import CONFIDENTIALITY_LABELS, DOCUMENT_STATUS, FACILITY_TYPE_CODES
from liaison.documents.cda.model import CdaBuildError, DocumentMeta

Found = Iterator[tuple[str, str]]  # (form field, French message)


def uses_ins(content: LetterContent) -> bool:
    """The INS is sent only for a qualified identity (référentiel national d'identitovigilance)."""
    p = content.patient
    return bool(p.ins_matricule and p.ins_oid in INS_OIDS and p.identity_status == IdentityStatus.QUALIFIEE)


def check(content: LetterContent, meta: DocumentMeta) -> None:
    problems = [(p.field, p.message) for p in content_problems(content, strict=True)]
    problems += cda_problems(content, meta)
    if problems:
        raise CdaBuildError(problems)


def cda_problems(content: LetterContent, meta: DocumentMeta) -> list[tuple[str, str]]:
    """What only the CDA needs, beyond the content's strict checks."""
    return [
        *_identifiers(content),
        *_establishment(content),
        *_author(meta),
        *_times(content, meta),
        *_codes(meta),
    ]


def _identifiers(c: LetterContent) -> Found:
    p = c.patient
    if uses_ins(c):
        if not p.birth_place_cog:
            yield (
                "patient.birth_place_cog",
                "Lieu de naissance (code officiel géographique) absent : il est obligatoire avec l'INS.",
            )
        if p.sex == Sex.U:
            yield "patient.sex", "Sexe du patient absent : il est obligatoire avec l'INS."
    elif not (p.ipp and p.ipp_oid):
        yield (
            "patient.ipp",
            "Aucun identifiant du patient : ni INS qualifiée, ni IPP avec l'OID de l'établissement.",
        )


def _establishment(c: LetterContent) -> Found:
    e = c.establishment
    if not (e.finess_eg or e.finess_ej):
        yield "establishment.finess_eg", "Numéro FINESS de l'établissement absent."
    if not e.name.strip():
        yield "establishment.name", "Nom de l'établissement absent."
    if e.facility_type_code not in FACILITY_TYPE_CODES:
        yield (
            "establishment.facility_type_code",
            f"Type d'établissement « {e.facility_type_code} » inconnu du jeu de valeurs "
            "JDV_J02_XdsHealthcareFacilityTypeCode_CISIS (SA01 établissement public de santé, "
            "SA03 privé PSPH, SA04 privé non PSPH…).",
        )
    if not e.facility_type_label.strip():
        yield "establishment.facility_type_label", "Libellé du type d'établissement absent."


def _author(meta: DocumentMeta) -> Found:
    if not meta.author.rpps:
        yield "responsible_physician.rpps", "Numéro RPPS du médecin signataire absent."
    if not meta.author.family_name.strip():
        yield "responsible_physician.family_name", "Nom du médecin signataire absent."


def _times(c: LetterContent, meta: DocumentMeta) -> Found:
    for name in ("admission_at", "discharge_at"):
        value = getattr(c, name)
        if value is not None and value.tzinfo is None:
            yield name, "Date sans fuseau horaire."
    if not (meta.effective_time.tzinfo and meta.signed_at.tzinfo):
        yield "signed_at", "Date de signature ou de création sans fuseau horaire."
    # The letter is usually signed a few hours before the patient leaves (it must be handed over
    # that day), so its date is bounded by the admission, not the discharge.
    admitted = c.admission_at
    if admitted and admitted.tzinfo and meta.effective_time.tzinfo and meta.effective_time < admitted:
        yield "admission_at", "Le document est daté d'avant l'entrée du patient."


def _codes(meta: DocumentMeta) -> Found:
    if meta.confidentiality_code not in CONFIDENTIALITY_LABELS:
        yield "confidentiality", f"Code de confidentialité inconnu : {meta.confidentiality_code}."
    if meta.status_code not in DOCUMENT_STATUS:
        yield "status", f"Statut du document inconnu : {meta.status_code}."
    if meta.version_number < 1:
        yield "version", "Le numéro de version doit être un entier positif."
