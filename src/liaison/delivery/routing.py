"""Who receives a signed letter, and by which channel: pure Python, no Django.

The ANS masking and routing matrix (dmp-and-mssante.md §6) is enforced here, before anything
is queued: a letter hidden from professionals is not mailed to professionals, one invisible to
the patient is not mailed to the patient, and combinations the matrix does not list are refused.
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


def check_masking(content: LetterContent, to_professionals: bool, to_patient: bool) -> None:
    """Refuse the combinations the ANS matrix does not allow (regles-gestion-mssante)."""
    conf = content.confidentiality
    if to_professionals and conf.masked_from_professionals:
        raise RoutingError(
            "La lettre est masquée aux professionnels : elle ne peut pas leur être envoyée par MSSanté. "
            "Retirez les destinataires professionnels ou levez le masquage."
        )
    if to_patient and conf.invisible_to_patient:
        raise RoutingError(
            "La lettre est invisible pour le patient : elle ne peut pas lui être envoyée par MSSanté."
        )


def plan(content: LetterContent) -> list[PlannedDelivery]:
    """The deliveries of one signed letter version: the DMP, then one mail per MSSanté recipient."""
    out: list[PlannedDelivery] = []
    p = content.patient
    qualified = p.identity_status == IdentityStatus.QUALIFIEE and bool(p.ins_matricule)
    # The DMP is fed only with a qualified INS (référentiel INS); otherwise nothing is queued
    # and the letter page says why (see `why_no_dmp`).
    if qualified:
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
    to_pros = any(d.channel == DeliveryChannel.MSSANTE and d.role != RecipientRole.PATIENT for d in out)
    to_patient = any(d.role == RecipientRole.PATIENT for d in out)
    check_masking(content, to_pros, to_patient)
    return out


def why_no_dmp(content: LetterContent) -> str | None:
    p = content.patient
    if p.identity_status != IdentityStatus.QUALIFIEE or not p.ins_matricule:
        return "Identité non qualifiée : le DMP n'est alimenté qu'avec une INS qualifiée."
    return None
