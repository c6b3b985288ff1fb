"""Hand-built letters of many shapes, with synthetic identities (test NIR OID)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from liaison.core.content import (
    Channel,
    EntryMode,
    EstablishmentInfo,
    ExitMode,
    FollowUpItem,
    FollowUpKind,
    IdentityStatus,
    LetterContent,
    MedicationLine,
    MedicationStatus,
    Orientation,
    PatientIdentity,
    PendingResult,
    Presence,
    Professional,
    Recipient,
    RecipientRole,
    Sector,
    Sex,
)
from liaison.core.identifiers import OID_INS_NIR_TEST, luhn_key, nir_key
from liaison.documents.cda import DocumentId, DocumentMeta

PARIS = ZoneInfo("Europe/Paris")
NIR13 = "2790351215189"
INS = NIR13 + nir_key(NIR13)


def rpps(body: str) -> str:
    return body + luhn_key(body)


def finess(body: str) -> str:
    return body + luhn_key(body)


DR_MARTIN = Professional(
    rpps=rpps("1000123456"),
    family_name="MARTIN",
    given_name="Claire",
    title="Dr",
    profession="medecin",
    specialty="Médecine interne",
    phone="01 44 55 66 77",
)
DR_GP = Professional(
    rpps=rpps("1000654321"),
    family_name="BERNARD",
    given_name="Louis",
    title="Dr",
    profession="medecin",
    address="3 rue du Petit-Pont\n75005 Paris",
    phone="0147150000",
    mssante="louis.bernard@medecin.mssante.fr",
)


def complete() -> LetterContent:
    return LetterContent(
        establishment=EstablishmentInfo(
            finess_ej=finess("75000001"),
            finess_eg=finess("75000002"),
            name="Hôpital de démonstration",
            unit_name="Médecine interne",
            address="1 place de l'Hôpital\n75015 Paris",
            phone="01 40 00 00 00",
        ),
        patient=PatientIdentity(
            ins_matricule=INS,
            ins_oid=OID_INS_NIR_TEST,
            identity_status=IdentityStatus.QUALIFIEE,
            ipp="123456",
            ipp_oid="1.2.3.4.5.6",
            birth_family_name="TEST-PATIENT",
            used_family_name="DUPONT",
            first_given_name="DOMINIQUE",
            given_names="DOMINIQUE MARIE",
            used_given_name="Do",
            birth_date=dt.date(1979, 3, 28),
            birth_place_cog="51215",
            sex=Sex.F,
            address="28 avenue de Breteuil\n75007 Paris",
            phone="06 00 00 00 00",
        ),
        medecin_traitant=DR_GP,
        responsible_physician=DR_MARTIN,
        sector=Sector.MCO,
        admission_at=dt.datetime(2024, 11, 29, 11, 17, tzinfo=PARIS),
        discharge_at=dt.datetime(2024, 12, 3, 10, 30, tzinfo=PARIS),
        entry_mode=EntryMode.URGENCE,
        exit_mode=ExitMode.DOMICILE,
        reason="Pneumopathie aiguë communautaire avec désaturation.",
        medical_summary="Pneumopathie franche lobaire aiguë droite.\nÉvolution favorable sous amoxicilline.",
        procedures_and_exams="Radiographie du thorax, hémocultures négatives.",
        adverse_events=Presence(present=False),
        resistant_organisms_screened=True,
        resistant_organisms=Presence(present=False),
        transfusion=Presence(present=False),
        blood_derivatives=Presence(present=False),
        implanted_devices=Presence(present=False),
        allergies=Presence(present=True, details="Allergie à la pénicilline G (urticaire)."),
        medications=[
            MedicationLine(
                medicine="AMOXICILLINE 1 g comprimé",
                atc="J01CA04",
                status=MedicationStatus.NOUVEAU,
                dosage="1 comprimé 3 fois par jour",
                route="orale",
                duration="5 jours",
                reason="Pneumopathie",
            ),
            MedicationLine(
                medicine="KARDEGIC 75 mg",
                cis="60234100",
                atc="B01AC06",
                status=MedicationStatus.POURSUIVI,
                usual_treatment="KARDEGIC 75 mg",
                dosage="1 sachet le midi",
                route="orale",
                duration="au long cours",
            ),
            MedicationLine(
                medicine="RAMIPRIL 5 mg",
                atc="C09AA05",
                status=MedicationStatus.MODIFIE,
                usual_treatment="RAMIPRIL 10 mg",
                dosage="1 comprimé le matin",
                route="orale",
                duration="au long cours",
                reason="Hypotension orthostatique",
            ),
            MedicationLine(
                medicine="IBUPROFENE 400 mg",
                status=MedicationStatus.ARRETE,
                usual_treatment="IBUPROFENE 400 mg si douleur",
                reason="Insuffisance rénale aiguë",
            ),
        ],
        pending_results=[
            PendingResult(
                description="Antigénurie légionelle",
                expected_on=dt.date(2024, 12, 5),
                followed_by="Dr Martin",
            )
        ],
        follow_up=[
            FollowUpItem(
                kind=FollowUpKind.RDV_PRIS,
                description="Consultation de pneumologie",
                date=dt.date(2025, 1, 15),
                with_whom="Dr Petit",
            ),
            FollowUpItem(
                kind=FollowUpKind.SOINS_INFIRMIERS,
                description="Surveillance tensionnelle",
                orientation=Orientation.AUTRE,
            ),
        ],
        recipients=[
            Recipient(
                role=RecipientRole.MEDECIN_TRAITANT,
                name="Dr Louis BERNARD",
                rpps=DR_GP.rpps,
                mssante=DR_GP.mssante,
            ),
            Recipient(role=RecipientRole.PATIENT, channel=Channel.REMISE_EN_MAIN_PROPRE),
        ],
    )


def meta(content: LetterContent | None = None, **changes) -> DocumentMeta:
    signed = dt.datetime(2024, 12, 3, 11, 0, tzinfo=PARIS)
    values = dict(
        id=DocumentId("1.2.250.1.999.1.1", "LLS-2024-0001-1"),
        set_id=DocumentId("1.2.250.1.999.1.2", "LLS-2024-0001"),
        version_number=1,
        effective_time=signed,
        author=DR_MARTIN,
        signed_at=signed,
    )
    values.update(changes)
    return DocumentMeta(**values)
