"""Build the parts of `LetterContent` that come from the stay (GAM data), not from the clinician."""

from __future__ import annotations

from liaison.core.content import (
    Channel,
    EntryMode,
    EstablishmentInfo,
    ExitMode,
    IdentityStatus,
    LetterContent,
    PatientIdentity,
    PlannedDischarge,
    Professional,
    ProfessionalSource,
    Recipient,
    RecipientRole,
    Sector,
)
from liaison.core.identifiers import patient_mssante_address
from liaison.letters import medecin_traitant
from liaison.letters.models import Correspondent, Patient, Practitioner, Stay


def patient_identity(p: Patient) -> PatientIdentity:
    return PatientIdentity(
        ins_matricule=p.ins_matricule or None,
        ins_oid=p.ins_oid or None,
        identity_status=IdentityStatus(p.identity_status),
        ipp=p.ipp,
        ipp_oid=p.establishment.ipp_oid or None,
        birth_family_name=p.birth_family_name,
        used_family_name=p.used_family_name,
        first_given_name=p.first_given_name,
        given_names=p.given_names or p.first_given_name,
        used_given_name=p.used_given_name,
        birth_date=p.birth_date,
        birth_place_cog=p.birth_place_cog or None,
        sex=p.sex,
        address=p.address,
        phone=p.phone,
    )


def practitioner_snapshot(pr: Practitioner) -> Professional:
    est = pr.establishment
    return Professional(
        rpps=pr.rpps or None,
        family_name=pr.family_name,
        given_name=pr.given_name,
        title=pr.title,
        profession=pr.profession,
        specialty=pr.specialty,
        organisation=est.name,
        address=est.address,
        phone=pr.phone or est.phone,
        mssante=pr.mssante or None,
    )


def correspondent_snapshot(c: Correspondent) -> Professional:
    return Professional(
        rpps=c.rpps or None,
        finess=c.finess or None,
        family_name=c.family_name,
        given_name=c.given_name,
        title=c.title,
        specialty=c.specialty,
        organisation=c.organisation,
        address=c.address,
        phone=c.phone,
        mssante=c.mssante or None,
        source=ProfessionalSource.GAM,
    )


def known_professional(rpps: str) -> Professional | None:
    """The professional Liaison knows by this RPPS (its directory of correspondents), if any."""
    found = Correspondent.objects.filter(rpps=rpps, kind=Correspondent.Kind.PERSON).order_by("pk").first()
    return correspondent_snapshot(found) if found else None


def default_recipients(stay: Stay) -> list[Recipient]:
    """Médecin traitant, adresseur, receiving structure, and the patient's Mon espace santé mailbox."""
    out: list[Recipient] = []
    seen: set[int] = set()  # the médecin traitant is often the adresseur too: one recipient
    for role, corr in (
        (RecipientRole.MEDECIN_TRAITANT, stay.patient.medecin_traitant),
        (RecipientRole.ADRESSEUR, stay.adresseur),
        (RecipientRole.STRUCTURE_AVAL, stay.receiving_structure),
    ):
        if corr is None or corr.pk in seen:
            continue
        seen.add(corr.pk)
        out.append(
            Recipient(
                role=role,
                name=str(corr),
                rpps=corr.rpps or None,
                mssante=corr.mssante or None,
                channel=Channel.MSSANTE if corr.mssante else Channel.COURRIER,
            )
        )
    p = stay.patient
    # Only a qualified INS may be used in exchanges (référentiel INS).
    qualified = p.identity_status == IdentityStatus.QUALIFIEE and p.ins_matricule
    out.append(
        Recipient(
            role=RecipientRole.PATIENT,
            name=f"{p.display_family_name} {p.first_given_name}",
            mssante=patient_mssante_address(p.ins_matricule) if qualified else None,
            channel=Channel.MSSANTE if qualified else Channel.REMISE_EN_MAIN_PROPRE,
        )
    )
    return out


def gam_planned(stay: Stay) -> PlannedDischarge:
    """What the GAM says of the planned discharge (PV2-9, A16), unconfirmed."""
    return PlannedDischarge(
        at=stay.planned_discharge_at,
        exit_mode=ExitMode(stay.planned_exit_mode) if stay.planned_exit_mode else None,
        destination=stay.planned_destination,
    )


def planned_discharge(content: LetterContent, stay: Stay, replan: bool = False) -> PlannedDischarge:
    """The letter's planned discharge: the physician's values, the GAM's filling what is empty.

    `replan` (an A16 or A25 changed the plan): the GAM's values replace the letter's and the
    physician confirms again. The unit's usual exit mode is never filled in here (the form
    proposes it)."""
    gam = gam_planned(stay)
    mine = content.planned_discharge
    if mine is None or replan:
        return gam
    return mine.model_copy(
        update={
            "at": mine.at or gam.at,
            "exit_mode": mine.exit_mode or gam.exit_mode,
            "destination": mine.destination or gam.destination,
        }
    )


def apply_stay_facts(content: LetterContent, stay: Stay, replan: bool = False) -> LetterContent:
    """Overwrite the GAM-owned parts of a draft (identities, dates, modes) from the stay.

    The discharge is the recorded one (A03) when there is one; until then it is the letter's
    planned discharge, pre-filled from the GAM (`planned_discharge`)."""
    est = stay.establishment
    data = content.model_dump()
    if stay.discharge_at is not None:
        discharge = dict(
            discharge_recorded=True,
            discharge_at=stay.discharge_at,
            exit_mode=ExitMode(stay.exit_mode) if stay.exit_mode else None,
            destination=stay.destination,
        )
    else:
        discharge = dict(
            discharge_recorded=False, planned_discharge=planned_discharge(content, stay, replan).model_dump()
        )
    data.update(
        establishment=EstablishmentInfo(
            finess_ej=est.finess_ej,
            finess_eg=est.finess_eg,
            name=est.name,
            unit_name=stay.unit.name,
            address=est.address,
            phone=stay.unit.phone or est.phone,
        ).model_dump(),
        patient=patient_identity(stay.patient).model_dump(),
        sector=Sector(stay.sector),
        admission_at=stay.admission_at,
        entry_mode=EntryMode(stay.entry_mode) if stay.entry_mode else None,
        **discharge,
    )
    mt = stay.patient.medecin_traitant
    gam = correspondent_snapshot(mt) if mt else None
    for name, value in medecin_traitant.merge(content, gam, known_professional).items():
        if isinstance(value, list):
            value = [v.model_dump() for v in value]
        data[name] = value.model_dump() if isinstance(value, Professional) else value
    data["adresseur"] = correspondent_snapshot(stay.adresseur).model_dump() if stay.adresseur else None
    data["receiving_structure"] = (
        correspondent_snapshot(stay.receiving_structure).model_dump() if stay.receiving_structure else None
    )
    if stay.responsible_physician and content.responsible_physician is None:
        data["responsible_physician"] = practitioner_snapshot(stay.responsible_physician).model_dump()
    if not content.emergency_contact and stay.sector == Sector.CA:
        data["emergency_contact"] = est.emergency_phone
    return LetterContent.model_validate(data).stating_planned()


def initial_content(stay: Stay) -> LetterContent:
    content = apply_stay_facts(LetterContent(), stay)
    return content.model_copy(update={"recipients": default_recipients(stay)})
