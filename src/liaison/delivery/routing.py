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
from functools import partial

from liaison.core.content import (
    RECIPIENT_ROLE_LABELS,
    Channel,
    IdentityStatus,
    LetterContent,
    ProfessionalSource,
    RecipientRole,
)
from liaison.core.identifiers import IdentifierError, patient_mssante_address, validate_mssante


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


@dataclass(frozen=True, slots=True)
class PlanLine:
    """One line of the delivery plan shown before signing: who, how, and why not."""

    who: str
    role: str  # RecipientRole value, or "dmp"
    channel: str  # Channel value, or "dmp"
    channel_label: str
    address: str = ""
    electronic: bool = False  # queued at signature (DMP or MSSanté)
    note: str = ""  # French: why a channel is not used, or what happens instead
    blocker: str = ""  # French: non-empty forbids signature
    field: str = ""  # the form field to fix


@dataclass(frozen=True, slots=True)
class DeliveryPlan:
    lines: tuple[PlanLine, ...]
    deliveries: tuple[PlannedDelivery, ...]
    masking: tuple[tuple[str, str], ...]  # (field, French message) the ANS matrix forbids

    @property
    def blockers(self) -> list[tuple[str, str]]:
        """(field, French message) for everything that forbids signature."""
        return [(ln.field, ln.blocker) for ln in self.lines if ln.blocker] + list(self.masking)


PLAN_CHANNEL_LABELS = {
    "dmp": "DMP",
    Channel.MSSANTE.value: "MSSanté",
    Channel.COURRIER.value: "Courrier à imprimer",
    Channel.REMISE_EN_MAIN_PROPRE.value: "Remise en main propre",
}


def _qualified(content: LetterContent) -> bool:
    p = content.patient
    return p.identity_status == IdentityStatus.QUALIFIEE and bool(p.ins_matricule)


def _dmp_line(content: LetterContent) -> tuple[PlanLine, PlannedDelivery | None]:
    label = PLAN_CHANNEL_LABELS["dmp"]
    who = "DMP (Mon espace santé)"
    if content.confidentiality.masked_from_professionals:
        # The matrix's "patient only" row has no DMP.
        note = "Masqué aux professionnels : la lettre n'est pas versée au DMP (matrice ANS)."
        return PlanLine(who, "dmp", "dmp", label, note=note), None
    reason = why_no_dmp(content)
    if reason:
        return PlanLine(who, "dmp", "dmp", label, note=reason), None
    matricule = content.patient.ins_matricule or ""
    return (
        PlanLine(who, "dmp", "dmp", label, address=matricule, electronic=True),
        PlannedDelivery(DeliveryChannel.DMP, "dmp", who, matricule),
    )


def delivery_plan(content: LetterContent) -> DeliveryPlan:
    """Every recipient with its channel, what will be sent at signature and what blocks it.

    The outbox queues exactly `deliveries`; the sign page shows `lines`; `signing.sign`
    refuses while `blockers` is not empty, so no recipient is ever dropped without a word.
    """
    dmp_line, dmp = _dmp_line(content)
    lines, deliveries = [dmp_line], [dmp] if dmp else []
    seen: set[str] = set()
    gp = content.medecin_traitant
    named = gp is not None and gp.source == ProfessionalSource.MEDECIN
    for i, r in enumerate(content.recipients):
        role_label = RECIPIENT_ROLE_LABELS[r.role]
        if named and r.role == RecipientRole.MEDECIN_TRAITANT:
            role_label += ", désigné par le médecin"
        who = f"{r.name} ({role_label})" if r.name.strip() else role_label
        label = PLAN_CHANNEL_LABELS[r.channel.value]
        line = partial(PlanLine, who, r.role.value, r.channel.value, label)
        if r.channel == Channel.COURRIER:
            lines.append(line(note="Courrier à imprimer et à poster (non suivi par Liaison)."))
            continue
        if r.channel == Channel.REMISE_EN_MAIN_PROPRE:
            lines.append(line(note="Remise en main propre, enregistrée à la sortie."))
            continue
        if r.role == RecipientRole.PATIENT:
            if not _qualified(content):
                lines.append(
                    line(
                        blocker=f"{who} : la messagerie Mon espace santé exige une INS qualifiée. "
                        "Choisissez « Remise en main propre » ou « Courrier ».",
                        field=f"recipients.{i}.channel",
                    )
                )
                continue
            address = patient_mssante_address(content.patient.ins_matricule or "")
        elif not (r.mssante or "").strip():
            lines.append(
                line(
                    blocker=f"{who} : aucune adresse MSSanté. Saisissez-la, ou choisissez le canal "
                    "« Courrier » (à imprimer).",
                    field=f"recipients.{i}.mssante",
                )
            )
            continue
        else:
            try:
                address = validate_mssante(r.mssante or "")
            except IdentifierError as exc:
                lines.append(
                    line(address=r.mssante or "", blocker=f"{who} : {exc}", field=f"recipients.{i}.mssante")
                )
                continue
        if address.lower() in seen:
            lines.append(line(address=address, note="Même adresse qu'un autre destinataire : un seul envoi."))
            continue
        seen.add(address.lower())
        lines.append(line(address=address, electronic=True))
        deliveries.append(PlannedDelivery(DeliveryChannel.MSSANTE, r.role.value, r.name, address, r.rpps))
    return DeliveryPlan(tuple(lines), tuple(deliveries), tuple(masking_errors(content)))


def plan(content: LetterContent) -> list[PlannedDelivery]:
    """The deliveries of one signed letter version: the DMP, then one mail per MSSanté recipient.

    Refuses (RoutingError) a plan with a blocker: a recipient is never silently left out.
    """
    p = delivery_plan(content)
    if p.blockers:
        raise RoutingError(" ".join(message for _, message in p.blockers))
    return list(p.deliveries)


def why_no_dmp(content: LetterContent) -> str | None:
    if not _qualified(content):
        return "Identité non qualifiée : le DMP n'est alimenté qu'avec une INS qualifiée."
    return None
