"""`LetterContent`: the one content model of a discharge letter (CSP R.1112-1-2).

Pure Python (pydantic), no Django: the form, the QLS evaluation, the CDA builder and the PDF
all read this model. It is stored as JSON on the letter (`Letter.content`), versioned by
`schema_version`. A draft may be incomplete, so nearly every field is optional; what is
missing is reported by `problems()` (and, in more detail, by the QLS grids).

Field order follows the decree:
1° identifications, dates and modes of entry and exit; 2° reason; 3° medical summary with
the four "le cas échéant" items; 4° discharge treatments and stopped ones; 5° pending
results; 6° follow-up. Then recipients and confidentiality.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import Any, ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from liaison.core import catalogue
from liaison.core.controls import control_error

SCHEMA_VERSION: Final = 1


class _Model(BaseModel):
    """Every text field is one line (no control character: it may end up in a mail header or an
    XML attribute), except those named in `_multiline`, which may hold line breaks and tabs."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    _multiline: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and info.field_name is not None:
            problem = control_error(value, multiline=info.field_name in cls._multiline)
            if problem:
                raise ValueError(f"Champ « {info.field_name} » : {problem}, retirez-le.")
        return value


# --- coded values -----------------------------------------------------------------------------


class EntryMode(StrEnum):
    """Modalité d'entrée; CDA code from JDV_ModaliteEntree_CISIS (1.2.250.1.213.1.1.5.73)."""

    URGENCE = "urgence"
    PROGRAMMEE = "programmee"
    TRANSFERT = "transfert"
    AUTRE = "autre"


class ExitMode(StrEnum):
    """Modalité de sortie; CDA code from JDV_ModaliteSortie_CISIS (1.2.250.1.213.1.1.5.74)."""

    DOMICILE = "domicile"
    HAD = "had"
    EHPAD = "ehpad"
    SMR = "smr"
    AUTRE_ES = "autre_es"
    AUTRE = "autre"
    DECES = "deces"


SNOMED = "2.16.840.1.113883.6.96"
TA_ASIP = "1.2.250.1.213.1.1.4.322"
ORG_DESTINATION = "1.2.250.1.213.1.6.1.8"

# (code, codeSystem, displayName) as in the value sets of standards/ldl-ses/…/jeuxDeValeurs.
ENTRY_MODE_CODES: dict[EntryMode, tuple[str, str, str]] = {
    EntryMode.URGENCE: ("183452005", SNOMED, "hospitalisation en urgence"),
    EntryMode.PROGRAMMEE: ("8715000", SNOMED, "hospitalisation programmée"),
    EntryMode.TRANSFERT: ("107724000", SNOMED, "transfert du patient"),
    EntryMode.AUTRE: ("GEN-092.06.07", TA_ASIP, "Autre modalité d'entrée"),
}
EXIT_MODE_CODES: dict[ExitMode, tuple[str, str, str]] = {
    ExitMode.DOMICILE: ("160849004", SNOMED, "retour au domicile"),
    ExitMode.HAD: ("127", ORG_DESTINATION, "Hospitalisation à Domicile"),
    ExitMode.EHPAD: (
        "500",
        ORG_DESTINATION,
        "Etablissement d'hébergement pour personnes âgées dépendantes",
    ),
    ExitMode.SMR: ("109", ORG_DESTINATION, "Etablissement de santé privé autorisé en SSR"),
    ExitMode.AUTRE_ES: ("GEN-092.06.01", TA_ASIP, "Autre établissement de santé"),
    ExitMode.AUTRE: ("GEN-092.06.03", TA_ASIP, "Autre destination"),
    # No JDV code for a death: the value set has none, "autre destination" is the nearest.
    ExitMode.DECES: ("GEN-092.06.03", TA_ASIP, "Autre destination"),
}
ENTRY_MODE_LABELS = {
    EntryMode.URGENCE: "Hospitalisation en urgence",
    EntryMode.PROGRAMMEE: "Hospitalisation programmée",
    EntryMode.TRANSFERT: "Transfert d'un autre établissement",
    EntryMode.AUTRE: "Autre modalité d'entrée",
}
EXIT_MODE_LABELS = {
    ExitMode.DOMICILE: "Retour au domicile",
    ExitMode.HAD: "Hospitalisation à domicile (HAD)",
    ExitMode.EHPAD: "EHPAD",
    ExitMode.SMR: "Soins médicaux et de réadaptation (SMR)",
    ExitMode.AUTRE_ES: "Autre établissement de santé",
    ExitMode.AUTRE: "Autre destination",
    ExitMode.DECES: "Décès",
}


class Sector(StrEnum):
    """Activity sector of a stay, as the QLS indicator splits them."""

    MCO = "MCO"
    CA = "CA"  # chirurgie ambulatoire
    SMR = "SMR"
    PSY = "PSY"
    HAD = "HAD"


SECTOR_LABELS = {
    Sector.MCO: "Médecine, chirurgie, obstétrique (MCO)",
    Sector.CA: "Chirurgie ambulatoire",
    Sector.SMR: "Soins médicaux et de réadaptation",
    Sector.PSY: "Psychiatrie",
    Sector.HAD: "Hospitalisation à domicile",
}


# A professional's profession (`letters.models.Profession` takes its labels from here).
PROFESSION_LABELS = {
    "medecin": "Médecin",
    "interne": "Interne",
    "sage_femme": "Sage-femme",
    "infirmier": "Infirmier(e)",
    "autre": "Autre",
}


class Sex(StrEnum):
    M = "M"
    F = "F"
    U = "U"  # indéterminé


class IdentityStatus(StrEnum):
    """INS identity status (Référentiel national d'identitovigilance)."""

    PROVISOIRE = "provisoire"
    RECUPEREE = "recuperee"
    VALIDEE = "validee"
    QUALIFIEE = "qualifiee"


IDENTITY_STATUS_LABELS = {
    IdentityStatus.PROVISOIRE: "Identité provisoire",
    IdentityStatus.RECUPEREE: "Identité récupérée",
    IdentityStatus.VALIDEE: "Identité validée",
    IdentityStatus.QUALIFIEE: "Identité qualifiée",
}


class MedicationStatus(StrEnum):
    POURSUIVI = "poursuivi"
    MODIFIE = "modifie"
    ARRETE = "arrete"
    SUSPENDU = "suspendu"
    NOUVEAU = "nouveau"


MEDICATION_STATUS_LABELS = {
    MedicationStatus.POURSUIVI: "Poursuivi",
    MedicationStatus.MODIFIE: "Modifié",
    MedicationStatus.ARRETE: "Arrêté",
    MedicationStatus.SUSPENDU: "Suspendu",
    MedicationStatus.NOUVEAU: "Nouveau",
}


class FollowUpKind(StrEnum):
    RDV_PRIS = "rdv_pris"
    RDV_A_PRENDRE = "rdv_a_prendre"
    SOINS_INFIRMIERS = "soins_infirmiers"
    SURVEILLANCE = "surveillance"
    SUIVI_SOCIAL = "suivi_social"
    ORIENTATION = "orientation"
    RECOMMANDATION = "recommandation"


FOLLOW_UP_LABELS = {
    FollowUpKind.RDV_PRIS: "Rendez-vous pris",
    FollowUpKind.RDV_A_PRENDRE: "Rendez-vous à prendre",
    FollowUpKind.SOINS_INFIRMIERS: "Soins infirmiers",
    FollowUpKind.SURVEILLANCE: "Surveillance particulière",
    FollowUpKind.SUIVI_SOCIAL: "Suivi social ou médico-social",
    FollowUpKind.ORIENTATION: "Orientation",
    FollowUpKind.RECOMMANDATION: "Recommandation",
}


class Orientation(StrEnum):
    PRADO = "PRADO"
    HAD = "HAD"
    SSIAD = "SSIAD"
    SMR = "SMR"
    EHPAD = "EHPAD"
    AUTRE = "autre"


ORIENTATION_LABELS = {
    Orientation.PRADO: "PRADO (retour à domicile)",
    Orientation.HAD: "HAD",
    Orientation.SSIAD: "SSIAD",
    Orientation.SMR: "SMR",
    Orientation.EHPAD: "EHPAD",
    Orientation.AUTRE: "Autre",
}


class RecipientRole(StrEnum):
    PATIENT = "patient"
    MEDECIN_TRAITANT = "medecin_traitant"
    ADRESSEUR = "adresseur"
    STRUCTURE_AVAL = "structure_aval"
    AUTRE = "autre"


RECIPIENT_ROLE_LABELS = {
    RecipientRole.PATIENT: "Patient",
    RecipientRole.MEDECIN_TRAITANT: "Médecin traitant",
    RecipientRole.ADRESSEUR: "Praticien adresseur",
    RecipientRole.STRUCTURE_AVAL: "Structure d'aval",
    RecipientRole.AUTRE: "Autre professionnel désigné par le patient",
}


class Channel(StrEnum):
    MSSANTE = "mssante"
    COURRIER = "courrier"
    REMISE_EN_MAIN_PROPRE = "remise"


CHANNEL_LABELS = {
    Channel.MSSANTE: "Messagerie sécurisée (MSSanté)",
    Channel.COURRIER: "Courrier",
    Channel.REMISE_EN_MAIN_PROPRE: "Remise en main propre",
}


class ProfessionalSource(StrEnum):
    """Who named a professional in the letter: the GAM (the hospital's record), or the physician
    when the GAM knows none (a médecin traitant the patient names during the stay)."""

    GAM = "gam"
    MEDECIN = "medecin"


PROFESSIONAL_SOURCE_LABELS = {
    ProfessionalSource.GAM: "transmis par le GAM",
    ProfessionalSource.MEDECIN: "désigné par le médecin (le GAM n'en connaît pas)",
}


# --- parts ------------------------------------------------------------------------------------


class PatientIdentity(_Model):
    """Identity traits as the INS defines them, plus the local IPP."""

    _multiline = frozenset({"address"})  # postal lines

    ins_matricule: str | None = None
    ins_oid: str | None = None
    identity_status: IdentityStatus = IdentityStatus.PROVISOIRE
    ipp: str | None = None
    ipp_oid: str | None = None  # the establishment's IPP assigning authority
    birth_family_name: str = ""
    used_family_name: str = ""
    first_given_name: str = ""
    given_names: str = ""  # every birth given name, space-separated, as the INS gives them
    used_given_name: str = ""
    birth_date: dt.date | None = None
    birth_place_cog: str | None = None  # code officiel géographique of the birth commune
    sex: Sex = Sex.U
    address: str = ""
    phone: str = ""


class Professional(_Model):
    """A health professional or a structure named in the letter."""

    _multiline = frozenset({"address"})  # postal lines

    rpps: str | None = None
    finess: str | None = None  # for a structure
    family_name: str = ""
    given_name: str = ""
    title: str = ""  # "Dr", "Pr"…
    profession: str = ""  # médecin, sage-femme…
    specialty: str = ""
    organisation: str = ""
    address: str = ""
    phone: str = ""
    mssante: str | None = None
    source: ProfessionalSource | None = None  # None: an establishment professional, or not recorded

    @property
    def display_name(self) -> str:
        name = " ".join(p for p in (self.title, self.given_name, self.family_name) if p)
        return name or self.organisation


class EstablishmentInfo(_Model):
    _multiline = frozenset({"address"})
    finess_ej: str = ""
    finess_eg: str = ""
    name: str = ""
    # healthCareFacility code (JDV_J02_HealthcareFacilityTypeCode), e.g. SA01 établissement public
    facility_type_code: str = "SA01"
    facility_type_label: str = "Etablissement public de santé"
    unit_name: str = ""
    address: str = ""
    phone: str = ""


class Presence(_Model):
    """A "le cas échéant" item: answered explicitly as present (with details) or absent."""

    _multiline = frozenset({"details"})

    present: bool | None = None  # None = not answered yet
    details: str = ""

    @property
    def answered(self) -> bool:
        return self.present is False or (self.present is True and bool(self.details.strip()))


class ImplantedDevice(_Model):
    _multiline = frozenset({"description"})
    description: str
    udi: str = ""
    lot: str = ""
    implanted_on: dt.date | None = None


class MedicationLine(_Model):
    """One row of the reconciliation table (letter-and-law.md §7.2)."""

    _multiline = frozenset({"usual_treatment", "dosage", "duration", "reason", "comment"})

    medicine: str = ""  # as written on the discharge prescription
    cis: str | None = None  # BDPM code, OID 1.2.250.1.213.2.3.1
    atc: str | None = None
    substance_code: str | None = None  # BDPM substance code (CIS_COMPO): a line written in DCI
    usual_treatment: str = ""  # before admission; empty for a new drug
    status: MedicationStatus | None = None
    dosage: str = ""  # posologie: dose, frequency, timing
    route: str = ""
    duration: str = ""  # "7 jours", "jusqu'au 12/12", "au long cours"
    reason: str = ""  # reason for the change, stop, suspension or replacement
    comment: str = ""

    @property
    def taken_at_home(self) -> bool:
        return self.status not in (MedicationStatus.ARRETE, MedicationStatus.SUSPENDU)

    @property
    def needs_reason(self) -> bool:
        return self.status in (MedicationStatus.MODIFIE, MedicationStatus.ARRETE, MedicationStatus.SUSPENDU)


class PendingResult(_Model):
    _multiline = frozenset({"description"})
    description: str
    expected_on: dt.date | None = None
    followed_by: str = ""  # who will pass it on


class FollowUpItem(_Model):
    _multiline = frozenset({"description"})
    kind: FollowUpKind
    description: str
    date: dt.date | None = None
    with_whom: str = ""
    orientation: Orientation | None = None


class ItemSource(_Model):
    """Where one pre-filled item comes from: the hospital message that carried it."""

    item: str  # what was taken, e.g. « Hémoglobine 9,2 g/dL (bas) »
    message: str  # message type, e.g. « ORU^R01 »
    at: dt.datetime | None = None
    author: str = ""  # the author (biologist, prescriber, coder) or the sending system


class SectionPrefill(_Model):
    """A section drafted from the hospital's record (`liaison.clinical.draft`).

    `written` is the value the record gave the section (its JSON form): while the section still
    holds it, newer data replaces it; once the physician has changed it, newer data waits in
    `update` beside their text and is never written over it. `verified` is the physician's
    « vérifié » on the section."""

    _multiline = frozenset({"written", "update"})  # a section's text, e.g. a list of procedures
    sources: list[ItemSource] = Field(default_factory=list)
    written: str | dict[Any, Any] | list[Any] | None = None
    update: str | dict[Any, Any] | list[Any] | None = None
    update_sources: list[ItemSource] = Field(default_factory=list)
    verified: bool = False


# The sections the record can draft, with their labels.
PREFILL_SECTIONS = {e.key: e.drafted for e in catalogue.ELEMENTS if e.drafted}


class Recipient(_Model):
    role: RecipientRole
    name: str = ""
    rpps: str | None = None
    mssante: str | None = None
    channel: Channel = Channel.MSSANTE


class Confidentiality(_Model):
    """DMP confidentiality choices (ANS masking rules)."""

    masked_from_professionals: bool = False
    invisible_to_patient: bool = False
    invisible_to_legal_representatives: bool = False


# --- the letter -------------------------------------------------------------------------------


class PlannedDischarge(_Model):
    """The discharge the ward plans, stated (or confirmed) by the physician before the GAM's A03.

    Pre-filled from the GAM (PV2-9, A16 pending discharge with ZFM / PV1-36); `confirmed` is set
    only by the physician. A letter may be signed on a confirmed planned discharge; the recorded
    discharge (A03) is reconciled with it afterwards.
    """

    at: dt.datetime | None = None
    exit_mode: ExitMode | None = None
    destination: str = ""
    confirmed: bool = False


class LetterContent(_Model):
    _multiline = frozenset(
        {
            "reason",
            "medical_summary",
            "procedures_and_exams",
            "transfusion_incident",
            "blood_derivatives_incident",
        }
    )
    schema_version: Literal[1] = SCHEMA_VERSION

    # 1° identifications, dates and modalities
    establishment: EstablishmentInfo = Field(default_factory=EstablishmentInfo)
    patient: PatientIdentity = Field(default_factory=PatientIdentity)
    # From the GAM; when it knows none, named by the physician (`source` says which: a recipient
    # « Médecin traitant », see `letters.medecin_traitant`).
    medecin_traitant: Professional | None = None
    no_medecin_traitant: bool = False  # explicitly: the patient has declared none
    # The médecin traitant the physician had named, replaced by the one the GAM sent later.
    medecin_traitant_replaced: Professional | None = None
    adresseur: Professional | None = None
    responsible_physician: Professional | None = None  # the establishment physician
    # The intern who prepared the letter and submitted it to the senior who signs (`letters.review`).
    prepared_by: Professional | None = None
    receiving_structure: Professional | None = None
    sector: Sector = Sector.MCO
    admission_at: dt.datetime | None = None
    discharge_at: dt.datetime | None = None
    entry_mode: EntryMode | None = None
    exit_mode: ExitMode | None = None
    destination: str = ""
    # The three fields above are the recorded discharge (A03) when `discharge_recorded`, else
    # the planned one below (copied by `letters.prefill.apply_stay_facts`).
    discharge_recorded: bool = False
    planned_discharge: PlannedDischarge | None = None

    # 2° reason
    reason: str = ""

    # 3° medical summary and the four "le cas échéant" items
    medical_summary: str = ""
    procedures_and_exams: str = ""
    no_procedures_and_exams: bool = False  # explicitly: no procedure or complementary examination
    adverse_events: Presence = Field(default_factory=Presence)
    resistant_organisms_screened: bool | None = None  # MED-309: a search for BMR/BHRe was done
    resistant_organisms: Presence = Field(default_factory=Presence)  # BMR / BHRe identified
    transfusion: Presence = Field(default_factory=Presence)  # produits sanguins labiles
    transfusion_incident: str = ""  # MED-146: accident transfusionnel, if any
    blood_derivatives: Presence = Field(default_factory=Presence)  # médicaments dérivés du sang
    blood_derivatives_incident: str = ""  # MED-148: adverse event after blood derivatives, if any
    implanted_devices: Presence = Field(default_factory=Presence)
    devices: list[ImplantedDevice] = Field(default_factory=list)
    allergies: Presence = Field(default_factory=Presence)

    # 4° treatments
    medications: list[MedicationLine] = Field(default_factory=list)
    no_discharge_medication: bool = False

    # 5° pending results
    pending_results: list[PendingResult] = Field(default_factory=list)
    no_pending_results: bool = False

    # 6° follow-up
    follow_up: list[FollowUpItem] = Field(default_factory=list)
    no_follow_up: bool = False
    emergency_contact: str = ""  # phone reachable day and night (ambulatory surgery)

    recipients: list[Recipient] = Field(default_factory=list)
    confidentiality: Confidentiality = Field(default_factory=Confidentiality)

    # what the hospital's record drafted, per section of PREFILL_SECTIONS, with its sources
    prefill: dict[str, SectionPrefill] = Field(default_factory=dict)

    @property
    def blood_products(self) -> Presence:
        """Transfusion and blood derivatives, the decree's "produits sanguins ou dérivés"."""
        answered = self.transfusion.answered and self.blood_derivatives.answered
        present = bool(self.transfusion.present or self.blood_derivatives.present)
        if not answered:
            return Presence()
        details = "; ".join(d for d in (self.transfusion.details, self.blood_derivatives.details) if d)
        return Presence(present=present, details=details)

    def stating_planned(self) -> LetterContent:
        """Until the discharge is recorded, the letter states the planned one."""
        p = self.planned_discharge
        if self.discharge_recorded or p is None:
            return self
        return self.model_copy(
            update={"discharge_at": p.at, "exit_mode": p.exit_mode, "destination": p.destination}
        )

    def problems(self) -> list[Problem]:
        """What the decree requires and this content lacks, with the form field to fix."""
        return content_problems(self)

    def signature_blockers(self) -> list[Problem]:
        """The subset that forbids signature: a letter without these is not a letter."""
        return [p for p in self.problems() if p.blocks_signature]


class Problem(_Model):
    field: str  # form field path, e.g. "medications.2.duration"
    message: str  # French, names the missing element
    blocks_signature: bool = False


def content_problems(c: LetterContent, *, strict: bool = False) -> list[Problem]:
    """What the decree requires and the content lacks, with the form field to fix, element by
    element in the decree's order.

    `strict` asks what a document built from the content needs (the CDA's own check,
    `documents.cda.checks`, starts from these), whatever blocks the signature: each trait of the
    patient named, the stated discharge even while a planned one is pending, the details of every
    « le cas échéant » item answered « oui » (allergies too), and an answer to the items the CDA
    writes as yes/no; not what a document may leave out (médecin traitant, dosage and duration,
    follow-up, emergency number, the planned discharge's confirmation).
    """
    return [problem for check in _CHECKS for problem in check(c, strict)]


def _problem(field: str, message: str, blocks: bool = False) -> Problem:
    return Problem(field=field, message=message, blocks_signature=blocks)


def _stated(c: LetterContent, strict: bool) -> bool:
    """Whether the discharge fields are the letter's own: recorded (A03), or no planned one.
    With a planned discharge still pending, the checks name the planned fields instead."""
    return strict or c.planned_discharge is None or c.discharge_recorded


def _precedes(later: dt.datetime | None, earlier: dt.datetime | None) -> bool:
    """`later` is before `earlier` (False when either is missing or only one has a time zone)."""
    if later is None or earlier is None or (later.tzinfo is None) != (earlier.tzinfo is None):
        return False
    return later < earlier


def _patient(c: LetterContent, strict: bool) -> Iterator[Problem]:
    p = c.patient
    if not strict:
        if not (p.birth_family_name and p.first_given_name and p.birth_date):
            yield _problem(
                "patient",
                "Identité du patient incomplète (nom de naissance, prénom, date de naissance).",
                True,
            )
        return
    if not p.birth_family_name.strip():
        yield _problem("patient.birth_family_name", "Nom de naissance du patient absent.", True)
    if not p.first_given_name.strip():
        yield _problem("patient.first_given_name", "Premier prénom de naissance du patient absent.", True)
    if p.birth_date is None:
        yield _problem("patient.birth_date", "Date de naissance du patient absente.", True)


def _medecin_traitant(c: LetterContent, strict: bool) -> Iterator[Problem]:
    mt = c.medecin_traitant
    if strict:
        return
    if mt is None and not c.no_medecin_traitant:
        yield _problem(
            "medecin_traitant",
            "Médecin traitant non renseigné : ajoutez un destinataire « Médecin traitant » (nom, RPPS, "
            "adresse MSSanté), ou cochez « pas de médecin traitant ».",
        )
    elif mt is not None and mt.source == ProfessionalSource.MEDECIN and not mt.rpps:
        rows = [i for i, r in enumerate(c.recipients) if r.role == RecipientRole.MEDECIN_TRAITANT]
        row = next((i for i in rows if c.recipients[i].name.strip()), None)
        yield _problem(
            f"recipients.{row}.rpps" if row is not None else "medecin_traitant",
            "Médecin traitant désigné sans numéro RPPS : indiquez-le pour l'identifier.",
        )


def _responsible_physician(c: LetterContent, strict: bool) -> Iterator[Problem]:
    # The document names its signing author instead (`DocumentMeta.author`).
    if c.responsible_physician is None and not strict:
        yield _problem(
            "responsible_physician",
            "Médecin de l'établissement ayant pris en charge le patient absent.",
            True,
        )


def _admission(c: LetterContent, strict: bool) -> Iterator[Problem]:
    if c.admission_at is None:
        yield _problem("admission_at", "Date d'entrée absente.", True)


def _planned_discharge(c: LetterContent, strict: bool) -> Iterator[Problem]:
    planned = c.planned_discharge
    if strict or planned is None or c.discharge_recorded:
        return
    if planned.at is None:
        yield _problem("planned_discharge.at", "Sortie prévue : date et heure à indiquer.", True)
    elif _precedes(planned.at, c.admission_at):
        yield _problem("planned_discharge.at", "Sortie prévue : elle précède la date d'entrée.", True)
    if planned.exit_mode is None:
        yield _problem("planned_discharge.exit_mode", "Sortie prévue : modalité de sortie à indiquer.", True)
    if not planned.confirmed:
        yield _problem(
            "planned_discharge.confirmed",
            "Sortie prévue à confirmer par le médecin (date, modalité et destination) : "
            "la sortie n'est pas encore enregistrée par le GAM.",
            True,
        )


def _discharge(c: LetterContent, strict: bool) -> Iterator[Problem]:
    if not _stated(c, strict):
        return
    if c.discharge_at is None:
        yield _problem("discharge_at", "Date de sortie absente.", True)
    if _precedes(c.discharge_at, c.admission_at):
        yield _problem("discharge_at", "La date de sortie précède la date d'entrée.", True)


def _modes(c: LetterContent, strict: bool) -> Iterator[Problem]:
    if c.entry_mode is None:
        yield _problem("entry_mode", "Modalité d'entrée non renseignée.")
    if c.exit_mode is None and _stated(c, strict):
        yield _problem("exit_mode", "Modalité de sortie non renseignée.")


def _reason(c: LetterContent, strict: bool) -> Iterator[Problem]:
    if not c.reason.strip():
        yield _problem("reason", "Motif de l'hospitalisation absent.", True)


def _medical_summary(c: LetterContent, strict: bool) -> Iterator[Problem]:
    if not c.medical_summary.strip():
        yield _problem("medical_summary", "Synthèse médicale du séjour absente.", True)


# The « le cas échéant » items the CDA always writes (a yes/no entry, or « aucun »): it needs an answer.
_ANSWER_NEEDED_BY_DOCUMENT = frozenset({"resistant_organisms", "transfusion", "blood_derivatives"})


def _presence_items(c: LetterContent, strict: bool) -> Iterator[Problem]:
    for element in catalogue.PRESENCE:
        name, label = element.key, element.label
        if element.decree is None and not strict:  # allergies: not one of the decree's items
            continue
        item: Presence = getattr(c, name)
        if item.present is None:
            if not strict or name in _ANSWER_NEEDED_BY_DOCUMENT:
                yield _problem(name, f"Question « {label} » sans réponse (présent ou aucun).")
        elif item.present and not item.details.strip() and not (name == "implanted_devices" and c.devices):
            yield _problem(f"{name}.details", f"Précisez : {label}.")


def _screening(c: LetterContent, strict: bool) -> Iterator[Problem]:
    # Not answered: the CDA says so (MED-309 nullFlavor NI), only the decree's check asks.
    if c.resistant_organisms_screened is None and not strict:
        yield _problem(
            "resistant_organisms_screened", "Recherche de BMR/BHRe : faite ou non ? (question sans réponse)."
        )
    elif c.resistant_organisms_screened is False and c.resistant_organisms.present:
        yield _problem(
            "resistant_organisms_screened",
            "Des BMR/BHRe sont déclarées identifiées alors que la recherche est déclarée non effectuée.",
        )


def _incidents(c: LetterContent, strict: bool) -> Iterator[Problem]:
    if c.transfusion_incident.strip() and c.transfusion.present is not True:
        yield _problem(
            "transfusion_incident",
            "Accident transfusionnel décrit alors que la transfusion de produits sanguins "
            "n'est pas déclarée : cochez la transfusion ou retirez l'accident.",
        )
    if c.blood_derivatives_incident.strip() and c.blood_derivatives.present is not True:
        yield _problem(
            "blood_derivatives_incident",
            "Événement indésirable après dérivés du sang décrit alors que l'administration de dérivés "
            "du sang n'est pas déclarée : cochez l'administration ou retirez l'événement.",
        )


def _medications(c: LetterContent, strict: bool) -> Iterator[Problem]:
    if not c.medications and not c.no_discharge_medication:
        yield _problem(
            "medications",
            "Traitement de sortie absent : ajoutez les médicaments ou cochez "
            "« aucun traitement à la sortie ».",
        )
    for i, m in enumerate(c.medications):
        yield from _medication_line(i, m, strict)


def _medication_line(i: int, m: MedicationLine, strict: bool) -> Iterator[Problem]:
    name = m.medicine or f"Ligne {i + 1}"
    if not m.medicine.strip():
        yield _problem(f"medications.{i}.medicine", f"Ligne {i + 1} du traitement : médicament non nommé.")
    if m.status is None:
        yield _problem(
            f"medications.{i}.status",
            f"Ligne {i + 1} ({m.medicine}) : statut non renseigné (poursuivi, modifié, arrêté…).",
        )
    if m.taken_at_home and m.status is not None and not strict:  # the CDA may say « non précisée »
        if not m.dosage.strip():
            yield _problem(f"medications.{i}.dosage", f"{name} : posologie absente.")
        if not m.duration.strip():
            yield _problem(f"medications.{i}.duration", f"{name} : durée absente.")
    if m.needs_reason and not m.reason.strip():
        yield _problem(f"medications.{i}.reason", f"{name} : motif de la modification ou de l'arrêt absent.")


def _follow_up_and_emergency(c: LetterContent, strict: bool) -> Iterator[Problem]:
    if strict:
        return
    if not c.follow_up and not c.no_follow_up:
        yield _problem("follow_up", "Suites à donner absentes (ou « aucune suite particulière » non coché).")
    if c.sector == Sector.CA and not c.emergency_contact.strip():
        yield _problem(
            "emergency_contact", "Numéro à appeler en cas d'urgence absent (chirurgie ambulatoire)."
        )


_CHECKS: tuple[Callable[[LetterContent, bool], Iterator[Problem]], ...] = (
    _patient,
    _medecin_traitant,
    _responsible_physician,
    _admission,
    _planned_discharge,
    _discharge,
    _modes,
    _reason,
    _medical_summary,
    _presence_items,
    _screening,
    _incidents,
    _medications,
    _follow_up_and_emergency,
)


class LetterFacts(_Model):
    """Facts about a letter that are not its content: the QLS gates read them.

    Times are timezone-aware; "the day of discharge" is computed in Europe/Paris by the reader.
    """

    letter_id: str | None = None
    exists: bool = True
    signed_at: dt.datetime | None = None
    signer_profession: str | None = None  # "medecin", "sage_femme"
    handed_over_at: dt.datetime | None = None
    sent_to_medecin_traitant_at: dt.datetime | None = None
    sent_to_patient_mss_at: dt.datetime | None = None  # first MSSanté sending to the patient accepted
    stay_id: str | None = None
