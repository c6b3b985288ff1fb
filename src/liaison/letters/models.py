"""Database models: reference data, patients (INS), stays, letters, audit trail.

The letter's content lives as JSON (`Letter.content`, a `LetterContent`); the facts that
indicators aggregate (signed_at, handed_over_at, …) are real columns. Times are stored in UTC.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from liaison.core import identifiers
from liaison.core.content import (
    ENTRY_MODE_LABELS,
    EXIT_MODE_LABELS,
    IDENTITY_STATUS_LABELS,
    PROFESSION_LABELS,
    SECTOR_LABELS,
    IdentityStatus,
    LetterContent,
)
from liaison.core.paris import PARIS

SECTOR_CHOICES = [(k.value, v) for k, v in SECTOR_LABELS.items()]
ENTRY_MODE_CHOICES = [(k.value, v) for k, v in ENTRY_MODE_LABELS.items()]
EXIT_MODE_CHOICES = [(k.value, v) for k, v in EXIT_MODE_LABELS.items()]
IDENTITY_STATUS_CHOICES = [(k.value, v) for k, v in IDENTITY_STATUS_LABELS.items()]
SEX_CHOICES = [("M", "Masculin"), ("F", "Féminin"), ("U", "Indéterminé")]


def _check(validator, value: str | None) -> None:
    if value:
        try:
            validator(value)
        except identifiers.IdentifierError as exc:
            raise ValidationError(str(exc)) from exc


def validate_finess(value: str) -> None:
    _check(identifiers.validate_finess, value)


def validate_rpps(value: str) -> None:
    _check(identifiers.validate_rpps, value)


def validate_ins(value: str) -> None:
    _check(identifiers.validate_ins, value)


def validate_ins_oid(value: str) -> None:
    _check(identifiers.validate_ins_oid, value)


def new_document_oid() -> str:
    """A globally unique OID for a CDA document (ISO 9834-8 UUID arc 2.25)."""
    return f"2.25.{uuid.uuid4().int}"


class Establishment(models.Model):
    name = models.CharField("raison sociale", max_length=200)
    finess_ej = models.CharField("FINESS juridique", max_length=9, validators=[validate_finess])
    finess_eg = models.CharField(
        "FINESS géographique", max_length=9, unique=True, validators=[validate_finess]
    )
    sector = models.CharField("secteur principal", max_length=3, choices=SECTOR_CHOICES, default="MCO")
    address = models.CharField("adresse", max_length=300, blank=True)
    phone = models.CharField("téléphone", max_length=30, blank=True)
    emergency_phone = models.CharField("numéro d'urgence (24 h/24)", max_length=30, blank=True)
    mssante = models.EmailField("boîte MSSanté de l'établissement", blank=True)
    ipp_oid = models.CharField("OID de l'IPP", max_length=64, blank=True)

    class Meta:
        verbose_name = "établissement"

    def __str__(self) -> str:
        return f"{self.name} ({self.finess_eg})"


class Unit(models.Model):
    establishment = models.ForeignKey(Establishment, on_delete=models.PROTECT, related_name="units")
    code = models.CharField("code UF", max_length=20)
    name = models.CharField("service", max_length=200)
    sector = models.CharField("secteur", max_length=3, choices=SECTOR_CHOICES, default="MCO")
    is_obstetric = models.BooleanField("obstétrique (signature sage-femme admise)", default=False)
    phone = models.CharField("téléphone du service", max_length=30, blank=True)
    # Proposed on the letter form when the GAM says nothing; never filled in silently.
    usual_exit_mode = models.CharField(
        "modalité de sortie habituelle", max_length=12, choices=EXIT_MODE_CHOICES, blank=True
    )

    class Meta:
        verbose_name = "service"
        constraints = [models.UniqueConstraint(fields=["establishment", "code"], name="unit_code_unique")]

    def __str__(self) -> str:
        return self.name


class Profession(models.TextChoices):
    MEDECIN = "medecin", PROFESSION_LABELS["medecin"]
    INTERNE = "interne", PROFESSION_LABELS["interne"]
    SAGE_FEMME = "sage_femme", PROFESSION_LABELS["sage_femme"]
    INFIRMIER = "infirmier", PROFESSION_LABELS["infirmier"]
    AUTRE = "autre", PROFESSION_LABELS["autre"]


class Practitioner(models.Model):
    """A professional of the establishment, identified by RPPS."""

    establishment = models.ForeignKey(Establishment, on_delete=models.PROTECT, related_name="practitioners")
    rpps = models.CharField(
        "RPPS", max_length=11, unique=True, null=True, blank=True, validators=[validate_rpps]
    )
    title = models.CharField("titre", max_length=10, blank=True)
    family_name = models.CharField("nom", max_length=100)
    given_name = models.CharField("prénom", max_length=100)
    profession = models.CharField("profession", max_length=20, choices=Profession.choices)
    specialty = models.CharField("spécialité", max_length=100, blank=True)
    mssante = models.EmailField("adresse MSSanté", blank=True)
    phone = models.CharField("téléphone", max_length=30, blank=True)
    units = models.ManyToManyField(Unit, related_name="practitioners", blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="practitioner",
    )

    class Meta:
        verbose_name = "praticien"

    def __str__(self) -> str:
        return " ".join(p for p in (self.title, self.given_name, self.family_name) if p)


class Correspondent(models.Model):
    """An external professional or structure: médecin traitant, adresseur, receiving structure."""

    class Kind(models.TextChoices):
        PERSON = "personne", "Professionnel"
        STRUCTURE = "structure", "Structure"

    kind = models.CharField("type", max_length=10, choices=Kind.choices, default=Kind.PERSON)
    # Indexed: the ADT intake finds a médecin traitant by RPPS, a receiving structure by FINESS.
    rpps = models.CharField("RPPS", max_length=11, blank=True, db_index=True, validators=[validate_rpps])
    finess = models.CharField("FINESS", max_length=9, blank=True, db_index=True, validators=[validate_finess])
    title = models.CharField("titre", max_length=10, blank=True)
    family_name = models.CharField("nom", max_length=100, blank=True)
    given_name = models.CharField("prénom", max_length=100, blank=True)
    organisation = models.CharField("structure", max_length=200, blank=True)
    specialty = models.CharField("spécialité", max_length=100, blank=True)
    mssante = models.EmailField("adresse MSSanté", blank=True)
    address = models.CharField("adresse", max_length=300, blank=True)
    phone = models.CharField("téléphone", max_length=30, blank=True)

    class Meta:
        verbose_name = "correspondant"

    def __str__(self) -> str:
        name = " ".join(p for p in (self.title, self.given_name, self.family_name) if p)
        return name or self.organisation


class Patient(models.Model):
    # No index of its own: patient_ipp_unique (establishment, ipp) serves it, and a second index
    # let the planner of a fresh table scan a whole establishment to find one IPP.
    establishment = models.ForeignKey(
        Establishment, on_delete=models.PROTECT, related_name="patients", db_index=False
    )
    ipp = models.CharField("IPP", max_length=30)
    ins_matricule = models.CharField(
        "matricule INS", max_length=15, blank=True, null=True, validators=[validate_ins]
    )
    ins_oid = models.CharField("OID de l'INS", max_length=32, blank=True, validators=[validate_ins_oid])
    identity_status = models.CharField(
        "statut de l'identité", max_length=12, choices=IDENTITY_STATUS_CHOICES, default="provisoire"
    )
    birth_family_name = models.CharField("nom de naissance", max_length=100)
    used_family_name = models.CharField("nom utilisé", max_length=100, blank=True)
    first_given_name = models.CharField("premier prénom de naissance", max_length=100)
    given_names = models.CharField("prénoms de naissance", max_length=200, blank=True)
    used_given_name = models.CharField("prénom utilisé", max_length=100, blank=True)
    birth_date = models.DateField("date de naissance")
    birth_place_cog = models.CharField("lieu de naissance (code COG)", max_length=5, blank=True)
    sex = models.CharField("sexe", max_length=1, choices=SEX_CHOICES)
    address = models.CharField("adresse", max_length=300, blank=True)
    phone = models.CharField("téléphone", max_length=30, blank=True)
    medecin_traitant = models.ForeignKey(
        Correspondent,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="patients",
        verbose_name="médecin traitant",
    )
    merged_into = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True)

    class Meta:
        verbose_name = "patient"
        constraints = [models.UniqueConstraint(fields=["establishment", "ipp"], name="patient_ipp_unique")]

    def __str__(self) -> str:
        return f"{self.display_family_name} {self.first_given_name} ({self.ipp})"

    @property
    def display_family_name(self) -> str:
        return self.used_family_name or self.birth_family_name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.ins_matricule and not self.ins_oid:
            errors["ins_oid"] = "L'OID de l'INS est obligatoire avec un matricule INS."
        if self.identity_status == IdentityStatus.QUALIFIEE and not self.ins_matricule:
            errors["identity_status"] = (
                "Une identité qualifiée exige un matricule INS récupéré par le téléservice INSi."
            )
        if errors:
            raise ValidationError(errors)


class Stay(models.Model):
    # Served by stay_visit_unique (establishment, visit_number), as the patient's.
    establishment = models.ForeignKey(
        Establishment, on_delete=models.PROTECT, related_name="stays", db_index=False
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="stays")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="stays", verbose_name="service")
    visit_number = models.CharField("numéro de séjour (NDA)", max_length=30)
    sector = models.CharField("secteur", max_length=3, choices=SECTOR_CHOICES, default="MCO")
    admission_at = models.DateTimeField("entrée")
    discharge_at = models.DateTimeField("sortie", null=True, blank=True)
    # The GAM's planned discharge: PV2-9, or an A16 (pending discharge) with ZFM / PV1-36.
    planned_discharge_at = models.DateTimeField("sortie prévue", null=True, blank=True)
    planned_exit_mode = models.CharField(
        "modalité de sortie prévue", max_length=12, choices=EXIT_MODE_CHOICES, blank=True
    )
    planned_destination = models.CharField("destination prévue", max_length=200, blank=True)
    entry_mode = models.CharField("modalité d'entrée", max_length=12, choices=ENTRY_MODE_CHOICES, blank=True)
    exit_mode = models.CharField("modalité de sortie", max_length=12, choices=EXIT_MODE_CHOICES, blank=True)
    destination = models.CharField("destination", max_length=200, blank=True)
    responsible_physician = models.ForeignKey(
        Practitioner,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="stays",
        verbose_name="médecin responsable",
    )
    adresseur = models.ForeignKey(
        Correspondent,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="referred_stays",
        verbose_name="praticien adresseur",
    )
    receiving_structure = models.ForeignKey(
        Correspondent,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="received_stays",
        verbose_name="structure d'aval",
    )
    cancelled = models.BooleanField("annulé", default=False)

    class Meta:
        verbose_name = "séjour"
        constraints = [
            models.UniqueConstraint(fields=["establishment", "visit_number"], name="stay_visit_unique"),
            models.CheckConstraint(
                condition=Q(discharge_at__isnull=True) | Q(discharge_at__gte=models.F("admission_at")),
                name="stay_discharge_after_admission",
                violation_error_message="La date de sortie précède la date d'entrée.",
            ),
        ]

    def __str__(self) -> str:
        return f"Séjour {self.visit_number}"

    def clean(self) -> None:
        if self.discharge_at and self.admission_at and self.discharge_at < self.admission_at:
            raise ValidationError({"discharge_at": "La date de sortie précède la date d'entrée."})

    @property
    def discharge_day(self):
        """The discharge day in Europe/Paris (the day every same-day rule is measured on)."""
        return self.discharge_at.astimezone(PARIS).date() if self.discharge_at else None

    @property
    def current_letter(self) -> Letter | None:
        return self.letters.exclude(status=Letter.Status.SUPERSEDED).order_by("-version").first()


# To whom a signed letter was handed (`Letter.handed_over_to`), as the hand-over form offers.
HANDED_OVER_TO_LABELS = {"patient": "le patient", "proche": "un proche / la personne de confiance"}


class DischargeCheck(models.TextChoices):
    """A signed letter against the discharge the GAM knows (planned, then recorded)."""

    PLANNED = "prevue", "Signée sur la sortie prévue : sortie enregistrée attendue"
    CONSISTENT = "coherente", "Conforme à la sortie enregistrée"
    TO_CORRECT = "a_corriger", "Lettre à corriger : la sortie enregistrée diffère"


class Letter(models.Model):
    """One version of the discharge letter of a stay."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Brouillon"
        SIGNED = "signed", "Signée"
        SUPERSEDED = "superseded", "Remplacée"

    # Served by letter_version_unique (stay, version), which also gives the current version.
    stay = models.ForeignKey(Stay, on_delete=models.PROTECT, related_name="letters", db_index=False)
    version = models.PositiveIntegerField("version", default=1)
    replaces = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replaced_by"
    )
    status = models.CharField("état", max_length=12, choices=Status.choices, default=Status.DRAFT)
    content = models.JSONField("contenu", default=dict)
    schema_version = models.PositiveSmallIntegerField(default=1)
    revision = models.PositiveIntegerField("révision", default=1)  # optimistic lock
    document_oid = models.CharField(
        "identifiant du document", max_length=64, unique=True, default=new_document_oid
    )
    set_oid = models.CharField("identifiant du lot de versions", max_length=64, default=new_document_oid)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    signed_at = models.DateTimeField("signée le", null=True, blank=True)
    signed_by = models.ForeignKey(
        Practitioner, on_delete=models.PROTECT, null=True, blank=True, related_name="signed_letters"
    )
    content_sha256 = models.CharField(max_length=64, blank=True)
    handed_over_at = models.DateTimeField("remise au patient le", null=True, blank=True)
    handed_over_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    handed_over_role = models.CharField(
        "rôle de la personne ayant remis la lettre", max_length=30, blank=True
    )
    handed_over_to = models.CharField("remise à", max_length=100, blank=True)  # patient, proche…
    understanding_checked = models.BooleanField("compréhension vérifiée", default=False)
    # Reconciliation of a signed version with the GAM's discharge (`letters.reconcile`); kept on
    # a superseded version, so "needed a correction" stays countable.
    discharge_check = models.CharField(
        "sortie enregistrée / lettre", max_length=12, choices=DischargeCheck.choices, blank=True
    )
    discharge_differences = models.JSONField("écarts avec la sortie enregistrée", default=list, blank=True)
    discharge_checked_at = models.DateTimeField("rapprochement le", null=True, blank=True)
    # A signed letter whose médecin traitant the physician named, when the GAM sends another one
    # afterwards (`letters.medecin_traitant.difference`): flagged, never regenerated.
    medecin_traitant_difference = models.CharField(
        "médecin traitant transmis ensuite par le GAM", max_length=500, blank=True
    )

    class Meta:
        verbose_name = "lettre de liaison"
        verbose_name_plural = "lettres de liaison"
        constraints = [
            models.UniqueConstraint(fields=["stay", "version"], name="letter_version_unique"),
            models.UniqueConstraint(
                fields=["stay"], condition=Q(status="draft"), name="letter_one_draft_per_stay"
            ),
        ]
        indexes = [models.Index(fields=["signed_at"]), models.Index(fields=["handed_over_at"])]

    def __str__(self) -> str:
        return f"Lettre {self.stay.visit_number} v{self.version} ({self.get_status_display()})"

    @classmethod
    def from_db(cls, db, field_names, values):  # type: ignore[no-untyped-def]
        obj = super().from_db(db, field_names, values)
        if obj.__dict__.get("status") in (cls.Status.SIGNED, cls.Status.SUPERSEDED):
            obj._frozen_content = obj.__dict__.get("content")
        return obj

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        frozen = getattr(self, "_frozen_content", None)
        if frozen is not None and self.content != frozen:
            raise ValidationError(
                "Une lettre signée est immuable : ouvrez une correction pour en créer une nouvelle version."
            )
        super().save(*args, **kwargs)

    def parsed(self) -> LetterContent:
        return LetterContent.model_validate(self.content)

    @property
    def state_label(self) -> str:
        """What the worklist shows: the furthest step reached."""
        if self.status == self.Status.DRAFT:
            return "Brouillon"
        if self.status == self.Status.SUPERSEDED:
            return "Remplacée"
        return "Remise au patient" if self.handed_over_at else "Signée"


class LetterReview(models.Model):
    """An intern's hand-off of a draft to a senior of the unit (`letters.review`): submitted, then
    signed by a senior or returned with a comment. One row per submission, kept as history."""

    class Outcome(models.TextChoices):
        PENDING = "a_valider", "À valider"
        RETURNED = "renvoyee", "Renvoyée à l'interne"
        SIGNED = "signee", "Signée par le senior"

    letter = models.ForeignKey(Letter, on_delete=models.PROTECT, related_name="reviews")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField("soumise le")
    # None: any senior (médecin) of the stay's unit.
    to = models.ForeignKey(
        Practitioner,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reviews_to",
        verbose_name="senior choisi",
    )
    note = models.CharField("message de l'interne", max_length=500, blank=True)
    outcome = models.CharField("issue", max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField("réponse le", null=True, blank=True)
    comment = models.TextField("commentaire du senior", max_length=2000, blank=True)

    class Meta:
        verbose_name = "validation par un senior"
        ordering = ["-submitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["letter"], condition=Q(outcome="a_valider"), name="review_one_pending_per_letter"
            )
        ]

    def __str__(self) -> str:
        return f"{self.letter} · {self.get_outcome_display()}"


class AuditEvent(models.Model):
    """One row per read or change of patient data: who, what, when, why."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    username = models.CharField(max_length=150)
    role = models.CharField(max_length=30, blank=True)
    action = models.CharField(max_length=30)
    object_type = models.CharField(max_length=30)
    object_id = models.CharField(max_length=64)
    patient = models.ForeignKey(Patient, on_delete=models.SET_NULL, null=True, related_name="+")
    why = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = "trace d'accès"
        ordering = ["-at"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action} {self.object_type} {self.object_id}"


class UserProfile(models.Model):
    """Which establishment and units a user works in (the role is a Django group)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    establishment = models.ForeignKey(Establishment, on_delete=models.PROTECT, null=True, blank=True)
    units = models.ManyToManyField(Unit, blank=True, related_name="staff")

    class Meta:
        verbose_name = "profil"

    def __str__(self) -> str:
        return f"Profil de {self.user}"


class LetterDocument(models.Model):
    """The CDA and the PDF of a signed version, produced once at signature and never regenerated."""

    letter = models.OneToOneField(Letter, on_delete=models.PROTECT, related_name="document")
    cda = models.BinaryField("CDA R2 N3 LDL-SES")
    cda_sha256 = models.CharField(max_length=64)
    pdf = models.BinaryField("PDF/A-3b (CDA joint)")
    pdf_sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "documents de la lettre"

    def __str__(self) -> str:
        return f"Documents de {self.letter}"
