"""Who receives a signed letter, and by which channel: pure Python, no Django.

The ANS masking and routing matrix (dmp-and-mssante.md §6, TRANS-CDA-HL7 règles de gestion
MSSanté, confirmed) is enforced here, before anything is queued, and the form shows the same
messages (`masking_errors`, tied to form fields):
- to professionals and the patient: no mask at all;
- to professionals only: INVISIBLE_PATIENT, never MASQUE_PS;
- to the patient only: MASQUE_PS and INVISIBLE_REP_LEGAUX allowed, not INVISIBLE_PATIENT, no DMP.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from liaison.identifiers import patient_mssante_address
from liaison.letters.content import Channel, IdentityStatus, LetterContent, RecipientRole


class DeliveryChannel(StrEnum):
    DMP = "dmp"
    MSSANTE = "mssante"


class RoutingError(ValueError):
    """A routing the ANS matrix forbids; the message is French."""


@dataclass(frozen=True, slots=True)
class PlannedDelivery:
    channel: DeliveryChannel
    role: str  # RecipientRole value, or "dmp"
    name: str
    address: str  # MSSanté address; the patient's INS matricule for the DMP
    rpps: str | None = None


def check_masking(content: LetterContent) -> None:
    """Refuse the combinations the ANS matrix does not allow (regles-gestion-mssante)."""
    errors = masking_errors(content)
    if errors:
        raise RoutingError(" ".join(message for _, message in errors))


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


def plan(content: LetterContent) -> list[PlannedDelivery]:
    """The deliveries of one signed letter version: the DMP, then one mail per MSSanté recipient."""
    out: list[PlannedDelivery] = []
    p = content.patient
    qualified = p.identity_status == IdentityStatus.QUALIFIEE and bool(p.ins_matricule)
    # The DMP is fed only with a qualified INS (référentiel INS); otherwise nothing is queued
    # and the letter page says why (see `why_no_dmp`). A letter masked from professionals goes
    # to the patient only, and the matrix's "patient only" row has no DMP.
    if qualified and not content.confidentiality.masked_from_professionals:
        out.append(
            PlannedDelivery(DeliveryChannel.DMP, "dmp", "DMP (Mon espace santé)", p.ins_matricule or "")
        )
    seen: set[str] = set()
    for r in content.recipients:
        if r.channel != Channel.MSSANTE:
            continue
        address = r.mssante
        if r.role == RecipientRole.PATIENT:
            if not qualified:
                continue
            address = patient_mssante_address(p.ins_matricule or "")
        if not address or address.lower() in seen:
            continue
        seen.add(address.lower())
        out.append(PlannedDelivery(DeliveryChannel.MSSANTE, r.role.value, r.name, address, r.rpps))
    check_masking(content)
    return out


def why_no_dmp(content: LetterContent) -> str | None:
    p = content.patient
    if p.identity_status != IdentityStatus.QUALIFIEE or not p.ins_matricule:
        return "Identité non qualifiée : le DMP n'est alimenté qu'avec une INS qualifiée."
    return None
