"""The ANS masking rules applied to the letter's confidentiality choices and recipients.

The routing matrix (dmp-and-mssante.md §6, TRANS-CDA-HL7 règles de gestion MSSanté, confirmed):
- to professionals and the patient: no mask at all;
- to professionals only: INVISIBLE_PATIENT, never MASQUE_PS;
- to the patient only: MASQUE_PS and INVISIBLE_REP_LEGAUX allowed, not INVISIBLE_PATIENT, no DMP.
A document hidden from professionals is not sent to professionals; a document invisible to the
patient is not sent to the patient. Pure functions: French messages tied to form fields.
"""

from __future__ import annotations

from liaison.letters.content import Channel, LetterContent, RecipientRole


def masking_errors(c: LetterContent) -> list[tuple[str, str]]:
    """(field, French message) for every choice the matrix forbids; empty when consistent."""
    conf = c.confidentiality
    to_pro = any(
        r.role != RecipientRole.PATIENT and r.channel == Channel.MSSANTE and r.mssante for r in c.recipients
    )
    to_patient = any(r.role == RecipientRole.PATIENT and r.channel == Channel.MSSANTE for r in c.recipients)
    out: list[tuple[str, str]] = []
    if conf.masked_from_professionals and conf.invisible_to_patient:
        out.append(
            (
                "confidentiality.invisible_to_patient",
                "Un document ne peut pas être à la fois masqué aux professionnels et invisible au "
                "patient : choisissez l'un ou l'autre.",
            )
        )
    if conf.masked_from_professionals and to_pro:
        out.append(
            (
                "confidentiality.masked_from_professionals",
                "Document masqué aux professionnels : il ne peut pas leur être envoyé par MSSanté. "
                "Retirez les destinataires professionnels ou décochez le masquage.",
            )
        )
    if conf.invisible_to_patient and to_patient:
        out.append(
            (
                "confidentiality.invisible_to_patient",
                "Document invisible au patient : il ne peut pas être envoyé dans sa messagerie "
                "Mon espace santé. Retirez le patient des envois MSSanté ou décochez cette option.",
            )
        )
    if conf.invisible_to_legal_representatives and to_pro and to_patient:
        out.append(
            (
                "confidentiality.invisible_to_legal_representatives",
                "« Invisible aux représentants légaux » n'est possible que pour un envoi au patient "
                "seul ou aux professionnels seuls.",
            )
        )
    return out


def masking_notes(c: LetterContent) -> list[str]:
    """What the chosen masks imply, in French, for the form."""
    conf = c.confidentiality
    notes = []
    if conf.masked_from_professionals:
        notes.append(
            "Masqué aux professionnels : la lettre n'est ni envoyée aux professionnels ni versée "
            "au DMP ; elle est remise au patient seulement."
        )
    if conf.invisible_to_patient:
        notes.append(
            "Invisible au patient dans son DMP jusqu'à la consultation d'annonce ; la remise papier "
            "le jour de la sortie reste exigée par l'article R.1112-1-2."
        )
    if conf.invisible_to_legal_representatives:
        notes.append("Invisible aux représentants légaux : réservé aux patients mineurs (L.1111-5).")
    return notes
