"""LDL-SES 2022.01 CDA R2 N3 builder: `build_cda(content, meta) -> bytes`.

Pure Python (lxml), no Django. The document model, codes and OIDs come from
`shared/domain/ldl-ses-cda.md` (§0–3); nothing is copied from the ANS example beyond them.
The builder also enforces what the ANS schematrons do not check (§4): the section-3 entries
and their consistency, the exit-mode value set, narrative ↔ entry references, section order,
the meaning of the dates and the ±zzzz offsets (Europe/Paris). Missing required data raises
`CdaBuildError` with French messages naming the form fields.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from lxml import etree

from liaison.core.content import (
    ENTRY_MODE_CODES,
    ENTRY_MODE_LABELS,
    EXIT_MODE_CODES,
    EXIT_MODE_LABELS,
    FOLLOW_UP_LABELS,
    MEDICATION_STATUS_LABELS,
    PRESENCE_LABELS,
    IdentityStatus,
    LetterContent,
    MedicationLine,
    Presence,
    Professional,
    RecipientRole,
    Sex,
)
from liaison.core.identifiers import (
    INS_OIDS,
    OID_FINESS,
    OID_RPPS,
    idnat_ps,
    idnat_struct,
    patient_mssante_address,
)

PARIS = ZoneInfo("Europe/Paris")
V3 = "urn:hl7-org:v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
NSMAP = {None: V3, "xsi": XSI}
XSI_TYPE = f"{{{XSI}}}type"

# Code systems (ldl-ses-cda.md §0–3).
LOINC = "2.16.840.1.113883.6.1"
SNOMED = "2.16.840.1.113883.6.96"
TA_ASIP = "1.2.250.1.213.1.1.4.322"
ACT_CODE = "2.16.840.1.113883.5.4"
CIS = "1.2.250.1.213.2.3.1"
ATC = "2.16.840.1.113883.6.73"
GENDER = "2.16.840.1.113883.5.1"
CONFIDENTIALITY = "2.16.840.1.113883.5.25"
PARTICIPATION_FUNCTION = "2.16.840.1.113883.5.88"
PROFESSION = "1.2.250.1.213.1.1.4.5"  # JDV_J01_XdsAuthorSpecialty_CISIS codes
PRACTICE_SETTING = "1.2.250.1.213.1.1.4.9"
FACILITY_TYPE = "1.2.250.1.71.4.2.4"  # TRE_R02-SecteurActivite
# healthCareFacility/code: StrucMin (CI-SISComponentOf) checks @code against value set
# 1.2.250.1.213.1.1.5.466 JDV_J02_XdsHealthcareFacilityTypeCode_CISIS, file
# schematrons/profils/structurationMinimale/include/voc-1.2.250.1.213.1.1.5.466-DYNAMIC.xml
# (versionLabel 20241213000000; jeuxDeValeurs/JDV_J02_XdsHealthcareFacilityTypeCode_CISIS.xml has
# the same 69 codes). It holds SA01 to SA69 except SA11 and SA62, codeSystem 1.2.250.1.71.4.2.4,
# plus EXP_PATIENT and SNR (codeSystem 1.2.250.1.213.1.1.4.6: patient expression, referenced digital
# service), which are not establishments and are left out here. For a discharge letter:
# SA01 Etablissement public de santé · SA02 Hôpital militaire du Service de santé des armées ·
# SA03 Etablissement privé PSPH · SA04 Etablissement privé non PSPH · SA05 Centre de santé ·
# SA30 Autre établissement sanitaire · SA34 Centre de dialyse · SA36 Centre anti-cancer ·
# SA51 Structure de coopération avec autorisation de soins · SA69 Maisons de naissance.
# tests/documents/test_cda.py compares this set with the voc file.
FACILITY_TYPE_CODES = frozenset(f"SA{n:02d}" for n in range(1, 70)) - {"SA11", "SA62"}
ABSENT_UNKNOWN = "2.16.840.1.113883.5.1150.1"  # JDV_AbsentOrUnknownMedication_CISIS

DOCUMENT_TEMPLATE_IDS = (
    ("2.16.840.1.113883.2.8.2.1", None),
    ("1.2.250.1.213.1.1.1.1", None),
    ("1.2.250.1.213.1.1.1.29", "2022.01"),
)
DOCUMENT_CODE = ("11490-0", LOINC, "Lettre de liaison à la sortie d'un établissement de soins")
DOCUMENT_TITLE = "Lettre de liaison à la sortie d'un établissement de santé"

# JDV_StatutDoc_CISIS (1.2.250.1.213.1.1.5.93).
DOCUMENT_STATUS = {
    "385651009": ("en cours d'exécution", "Document en cours"),
    "398166005": ("réalisé", "Document finalisé"),
    "9571008": ("approuvé", "Document validé"),
    "29179001": ("clôturé", "Document clôturé"),
}
CONFIDENTIALITY_LABELS = {"N": "Normal", "R": "Restreint", "V": "Très restreint"}
GENDER_LABELS = {Sex.M: "Masculin", Sex.F: "Féminin", Sex.U: "Inconnu"}
TITLE_CODES = {"dr": "DR", "docteur": "DR", "pr": "PR", "professeur": "PR"}
PROFESSION_CODES = {"medecin": ("G15_10", "Médecin"), "sage_femme": ("G15_50", "Sage-Femme")}

# Section templateIds, in the order of ldl-ses-cda.md §2 (row 8 keeps the ANS typo "11383").
S_STATUS = (("1.2.250.1.213.1.1.2.35", "1.2.250.1.213.1.1.2.35.1"), "33557-0", "Etat d'achèvement")
S_REASON = (
    ("1.3.6.1.4.1.19376.1.5.3.1.3.1", "1.2.250.1.213.1.1.2.127"),
    "42349-1",
    "Raison de la recommandation",
)
S_SUMMARY = (
    (
        "1.3.6.1.4.1.19376.1.5.3.1.1.21.2.9",
        "1.3.6.1.4.1.19376.1.7.3.1.1.13.7",
        "1.2.250.1.213.1.1.2.163",
        "1.2.250.1.213.1.1.2.163.1",
    ),
    "42545-4",
    "Evènements observés",
)
S_STOPPED = (
    ("1.3.6.1.4.1.19376.1.5.3.1.3.21", "1.2.250.1.213.1.1.2.145"),
    "18610-6",
    "Traitements administrés",
)
S_DISCHARGE = (
    ("1.3.6.1.4.1.19376.1.5.3.1.3.22", "1.2.250.1.213.1.1.2.146"),
    "10183-2",
    "Traitements à la sortie",
)
S_RESULTS = (("1.3.6.1.4.1.19376.1.5.3.1.3.27", "1.2.250.1.213.1.1.2.150"), "30954-2", "Résultats d'examens")
S_PLAN = (
    ("2.16.840.1.113883.10.20.1.10", "1.3.6.1.4.1.19376.1.5.3.1.3.36", "1.2.250.1.213.1.1.2.158"),
    "18776-5",
    "Plan de soins",
)
S_DEVICES = (
    ("2.16.840.1.11383.10.20.1.7", "1.3.6.1.4.1.19376.1.5.3.1.1.5.3.5", "1.2.250.1.213.1.1.2.1"),
    "46264-8",
    "Dispositifs médicaux",
)
S_ALLERGIES = (
    ("2.16.840.1.113883.10.20.1.2", "1.3.6.1.4.1.19376.1.5.3.1.3.13", "1.2.250.1.213.1.1.2.137"),
    "48765-2",
    "Allergies et hypersensibilités",
)

SIMPLE_OBS = ("1.3.6.1.4.1.19376.1.5.3.1.4.13", "1.2.250.1.213.1.1.3.48")
# Section-3 entries: code → (specific templateId, displayName).
SUMMARY_ENTRIES = {
    "ORG-070": ("1.2.250.1.213.1.1.3.48.6", "Modalité d'entrée"),
    "ORG-074": ("1.2.250.1.213.1.1.3.48.7", "Modalité de sortie"),
    "MED-142": ("1.2.250.1.213.1.1.3.48.9", "Synthèse médicale"),
    "MED-143": ("1.2.250.1.213.1.1.3.48.3", "Evènements indésirables survenus pendant l'hospitalisation"),
    "MED-309": (
        "1.2.250.1.213.1.1.3.48.8",
        "Recherche de microorganismes multi-résistants ou émergents effectuée",
    ),
    "MED-144": ("1.2.250.1.213.1.1.3.48.5", "Identification de micro-organismes multirésistants"),
    "MED-145": ("1.2.250.1.213.1.1.3.48.10", "Transfusion de produits sanguins"),
    "MED-146": ("1.2.250.1.213.1.1.3.48.1", "Accidents transfusionnels"),
    "MED-147": ("1.2.250.1.213.1.1.3.48.2", "Administration de dérivés du sang"),
    "MED-148": (
        "1.2.250.1.213.1.1.3.48.4",
        "Evènements indésirables suite à l'administration de dérivés du sang",
    ),
}
MEDICATION_TEMPLATES = (
    "1.2.250.1.213.1.1.3.42",
    "2.16.840.1.113883.10.20.1.24",
    "1.3.6.1.4.1.19376.1.5.3.1.4.7",
    "1.3.6.1.4.1.19376.1.5.3.1.4.7.1",
)
PRODUCT_TEMPLATES = (
    "1.2.250.1.213.1.1.3.43",
    "2.16.840.1.113883.10.20.1.53",
    "1.3.6.1.4.1.19376.1.5.3.1.4.7.2",
)
FOLLOW_UP_TEMPLATES = (
    "2.16.840.1.113883.10.20.1.25",
    "1.3.6.1.4.1.19376.1.5.3.1.1.20.3.1",
    "1.2.250.1.213.1.1.3.27",
)
DEVICE_TEMPLATES = ("2.16.840.1.113883.10.20.1.34", "1.2.250.1.213.1.1.3.20")
ALLERGY_LIST_TEMPLATES = (
    "2.16.840.1.113883.10.20.1.27",
    "1.3.6.1.4.1.19376.1.5.3.1.4.5.1",
    "1.3.6.1.4.1.19376.1.5.3.1.4.5.3",
    "1.2.250.1.213.1.1.3.40",
)
ALLERGY_TEMPLATES = (
    "2.16.840.1.113883.10.20.1.28",
    "2.16.840.1.113883.10.20.1.18",
    "1.3.6.1.4.1.19376.1.5.3.1.4.5",
    "1.3.6.1.4.1.19376.1.5.3.1.4.6",
    "1.2.250.1.213.1.1.3.41",
)
# JDV_TypeEvenementIndesirablePrevisible_CISIS: "propension aux réactions indésirables" (type unknown).
ALLERGY_TYPE = ("420134006", SNOMED, "propension aux réactions indésirables")

NO_PROCEDURES_TEXT = "Aucun acte ni examen complémentaire."

MEDICATION_TABLE_HEADERS = (
    "Médicament",
    "Statut",
    "Posologie",
    "Voie",
    "Durée",
    "Traitement habituel",
    "Commentaire",
)


class CdaBuildError(ValueError):
    """The content lacks data the document requires. `problems` lists (form field, French message)."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("Lettre incomplète : " + " ; ".join(m for _, m in problems))

    @property
    def fields(self) -> list[str]:
        return [f for f, _ in self.problems]


@dataclass(frozen=True)
class DocumentId:
    """An instance identifier (II): OID root and optional extension."""

    root: str
    extension: str | None = None


@dataclass(frozen=True)
class DocumentMeta:
    """What the document carries besides the letter content."""

    id: DocumentId  # the document uniqueId (XDS uniqueId = root^extension)
    set_id: DocumentId  # common to every version of the letter
    version_number: int
    effective_time: dt.datetime  # aware; creation of this version
    author: Professional  # author and legal authenticator, with an RPPS
    signed_at: dt.datetime  # aware; legalAuthenticator/time
    confidentiality_code: str = "N"  # N / R / V
    replaces: DocumentId | None = None  # the replaced version → relatedDocument RPLC
    status_code: str = "398166005"  # JDV_StatutDoc_CISIS; default "réalisé"


# --- small helpers ----------------------------------------------------------------------------


def _el(
    parent: etree._Element, tag: str, attrib: dict[str, str] | None = None, text: str | None = None
) -> etree._Element:
    e = etree.SubElement(parent, f"{{{V3}}}{tag}", attrib or {})
    if text is not None:
        e.text = text
    return e


def _ts(value: dt.datetime) -> str:
    """CDA TS with seconds and the Europe/Paris offset, e.g. 20241203133000+0100."""
    return value.astimezone(PARIS).strftime("%Y%m%d%H%M%S%z")


def _date(value: dt.date) -> str:
    return value.strftime("%Y%m%d")


def _fr_date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(PARIS).strftime("%d/%m/%Y à %H h %M")
    return value.strftime("%d/%m/%Y")


def _tel(phone: str) -> str:
    return "tel:" + re.sub(r"[^0-9+]", "", phone)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().splitlines() if line.strip()]


def _narrative(parent: etree._Element, text: str) -> None:
    """Multi-line text as one line per <br/> (mixed content)."""
    lines = _lines(text)
    parent.text = lines[0] if lines else ""
    for line in lines[1:]:
        br = _el(parent, "br")
        br.tail = line


class _Builder:
    def __init__(self, content: LetterContent, meta: DocumentMeta):
        self.c = content
        self.meta = meta
        self._n = 0

    def uid(self) -> str:
        """Deterministic UUIDs: the same content and meta give the same bytes."""
        self._n += 1
        seed = f"{self.meta.id.root}^{self.meta.id.extension or ''}#{self._n}"
        return str(uuid.uuid5(uuid.NAMESPACE_OID, seed)).upper()

    def entry(
        self, sec: etree._Element, tag: str, attrs: dict[str, str], templates: Iterable[str]
    ) -> etree._Element:
        """A new `entry` of the section: the clinical statement with its templateIds and its id."""
        statement = _el(_el(sec, "entry"), tag, attrs)
        for root in templates:
            _el(statement, "templateId", {"root": root})
        _el(statement, "id", {"root": self.uid()})
        return statement

    # -- checks ---------------------------------------------------------------------------------

    def check(self) -> None:
        c, meta, out = self.c, self.meta, []
        p = c.patient

        def need(cond: object, field: str, message: str) -> None:
            if not cond:
                out.append((field, message))

        need(p.birth_family_name.strip(), "patient.birth_family_name", "Nom de naissance du patient absent.")
        need(
            p.first_given_name.strip(),
            "patient.first_given_name",
            "Premier prénom de naissance du patient absent.",
        )
        need(p.birth_date, "patient.birth_date", "Date de naissance du patient absente.")
        if self.uses_ins:
            need(
                p.birth_place_cog,
                "patient.birth_place_cog",
                "Lieu de naissance (code officiel géographique) absent : il est obligatoire avec l'INS.",
            )
            need(p.sex != Sex.U, "patient.sex", "Sexe du patient absent : il est obligatoire avec l'INS.")
        need(
            self.uses_ins or (p.ipp and p.ipp_oid),
            "patient.ipp",
            "Aucun identifiant du patient : ni INS qualifiée, ni IPP avec l'OID de l'établissement.",
        )
        need(
            c.establishment.finess_eg or c.establishment.finess_ej,
            "establishment.finess_eg",
            "Numéro FINESS de l'établissement absent.",
        )
        need(c.establishment.name.strip(), "establishment.name", "Nom de l'établissement absent.")
        need(meta.author.rpps, "responsible_physician.rpps", "Numéro RPPS du médecin signataire absent.")
        need(
            meta.author.family_name.strip(),
            "responsible_physician.family_name",
            "Nom du médecin signataire absent.",
        )
        need(c.admission_at, "admission_at", "Date d'entrée absente.")
        need(c.discharge_at, "discharge_at", "Date de sortie absente.")
        for name in ("admission_at", "discharge_at"):
            value = getattr(c, name)
            need(value is None or value.tzinfo is not None, name, "Date sans fuseau horaire.")
        need(
            meta.effective_time.tzinfo and meta.signed_at.tzinfo,
            "signed_at",
            "Date de signature ou de création sans fuseau horaire.",
        )
        if c.admission_at and c.discharge_at and c.admission_at.tzinfo and c.discharge_at.tzinfo:
            need(
                c.discharge_at >= c.admission_at,
                "discharge_at",
                "La date de sortie précède la date d'entrée.",
            )
            # The letter is usually signed a few hours before the patient leaves (it must be
            # handed over that day), so its date is bounded by the admission, not the discharge.
            if meta.effective_time.tzinfo:
                need(
                    meta.effective_time >= c.admission_at,
                    "admission_at",
                    "Le document est daté d'avant l'entrée du patient.",
                )
        need(c.entry_mode, "entry_mode", "Modalité d'entrée non renseignée.")
        need(c.exit_mode, "exit_mode", "Modalité de sortie non renseignée.")
        need(c.reason.strip(), "reason", "Motif de l'hospitalisation absent.")
        need(c.medical_summary.strip(), "medical_summary", "Synthèse médicale du séjour absente.")
        for name in ("resistant_organisms", "transfusion", "blood_derivatives"):
            item: Presence = getattr(c, name)
            label = PRESENCE_LABELS[name]
            need(item.present is not None, name, f"Question « {label} » sans réponse (présent ou aucun).")
            need(not item.present or item.details.strip(), f"{name}.details", f"Précisez : {label}.")
        # Consistency of the BL entries with their detail entries (ldl-ses-cda.md §4 item 2).
        need(
            not (c.resistant_organisms.present and c.resistant_organisms_screened is False),
            "resistant_organisms_screened",
            "Des BMR/BHRe sont déclarées identifiées alors que la recherche est déclarée non effectuée.",
        )
        need(
            not c.transfusion_incident.strip() or c.transfusion.present,
            "transfusion_incident",
            "Accident transfusionnel décrit alors que la transfusion de produits sanguins "
            "n'est pas déclarée : cochez la transfusion ou retirez l'accident.",
        )
        need(
            not c.blood_derivatives_incident.strip() or c.blood_derivatives.present,
            "blood_derivatives_incident",
            "Événement indésirable après dérivés du sang décrit alors que l'administration de dérivés "
            "du sang n'est pas déclarée : cochez l'administration ou retirez l'événement.",
        )
        for name, label in (
            ("adverse_events", "événements indésirables"),
            ("allergies", "allergies"),
            ("implanted_devices", "dispositif médical implanté"),
        ):
            item = getattr(c, name)
            need(
                not item.present or item.details.strip() or (name == "implanted_devices" and c.devices),
                f"{name}.details",
                f"Précisez : {label}.",
            )
        need(
            c.medications or c.no_discharge_medication,
            "medications",
            "Traitement de sortie absent : ajoutez les médicaments "
            "ou cochez « aucun traitement à la sortie ».",
        )
        for i, m in enumerate(c.medications):
            need(
                m.medicine.strip(),
                f"medications.{i}.medicine",
                f"Ligne {i + 1} du traitement : médicament non nommé.",
            )
            need(
                m.status,
                f"medications.{i}.status",
                f"Ligne {i + 1} ({m.medicine}) : statut non renseigné (poursuivi, modifié, arrêté…).",
            )
            need(
                not m.needs_reason or m.reason.strip(),
                f"medications.{i}.reason",
                f"{m.medicine or f'Ligne {i + 1}'} : motif de la modification ou de l'arrêt absent.",
            )
        e = c.establishment
        need(
            e.facility_type_code in FACILITY_TYPE_CODES,
            "establishment.facility_type_code",
            f"Type d'établissement « {e.facility_type_code} » inconnu du jeu de valeurs "
            "JDV_J02_XdsHealthcareFacilityTypeCode_CISIS (SA01 établissement public de santé, "
            "SA03 privé PSPH, SA04 privé non PSPH…).",
        )
        need(
            e.facility_type_label.strip(),
            "establishment.facility_type_label",
            "Libellé du type d'établissement absent.",
        )
        need(
            meta.confidentiality_code in CONFIDENTIALITY_LABELS,
            "confidentiality",
            f"Code de confidentialité inconnu : {meta.confidentiality_code}.",
        )
        need(
            meta.status_code in DOCUMENT_STATUS, "status", f"Statut du document inconnu : {meta.status_code}."
        )
        need(meta.version_number >= 1, "version", "Le numéro de version doit être un entier positif.")
        if out:
            raise CdaBuildError(out)

    @property
    def uses_ins(self) -> bool:
        """The INS is sent only for a qualified identity (référentiel national d'identitovigilance)."""
        p = self.c.patient
        return bool(
            p.ins_matricule and p.ins_oid in INS_OIDS and p.identity_status == IdentityStatus.QUALIFIEE
        )

    # -- header ---------------------------------------------------------------------------------

    def build(self) -> etree._Element:
        self.check()
        c, meta = self.c, self.meta
        doc = etree.Element(f"{{{V3}}}ClinicalDocument", nsmap=NSMAP)
        _el(doc, "realmCode", {"code": "FR"})
        _el(doc, "typeId", {"root": "2.16.840.1.113883.1.3", "extension": "POCD_HD000040"})
        for root, ext in DOCUMENT_TEMPLATE_IDS:
            _el(doc, "templateId", {"root": root, **({"extension": ext} if ext else {})})
        self.ii(doc, "id", meta.id)
        code, system, display = DOCUMENT_CODE
        _el(
            doc,
            "code",
            {"code": code, "codeSystem": system, "codeSystemName": "LOINC", "displayName": display},
        )
        _el(doc, "title", text=DOCUMENT_TITLE)
        _el(doc, "effectiveTime", {"value": _ts(meta.effective_time)})
        _el(
            doc,
            "confidentialityCode",
            {
                "code": meta.confidentiality_code,
                "codeSystem": CONFIDENTIALITY,
                "displayName": CONFIDENTIALITY_LABELS[meta.confidentiality_code],
            },
        )
        _el(doc, "languageCode", {"code": "fr-FR"})
        self.ii(doc, "setId", meta.set_id)
        _el(doc, "versionNumber", {"value": str(meta.version_number)})
        self.record_target(doc)
        author = _el(doc, "author")
        _el(author, "time", {"value": _ts(meta.effective_time)})
        assigned = _el(author, "assignedAuthor", {"classCode": "ASSIGNED"})
        self.professional(assigned, meta.author, "assignedPerson")
        self.organisation(assigned, "representedOrganization")
        custodian = _el(_el(doc, "custodian", {"typeCode": "CST"}), "assignedCustodian")
        self.organisation(custodian, "representedCustodianOrganization")
        self.recipients(doc)
        legal = _el(doc, "legalAuthenticator")
        _el(legal, "time", {"value": _ts(meta.signed_at)})
        _el(legal, "signatureCode", {"code": "S"})
        entity = _el(legal, "assignedEntity")
        self.professional(entity, meta.author, "assignedPerson")
        self.organisation(entity, "representedOrganization", industry=True)
        if c.medecin_traitant is not None:
            self.participant(doc, c.medecin_traitant)
        self.service_event(doc)
        if meta.replaces is not None:
            related = _el(doc, "relatedDocument", {"typeCode": "RPLC"})
            self.ii(_el(related, "parentDocument"), "id", meta.replaces)
        self.encounter(doc)
        body = _el(_el(doc, "component"), "structuredBody")
        for section in (
            self.s_status,
            self.s_reason,
            self.s_summary,
            self.s_stopped,
            self.s_discharge,
            self.s_results,
            self.s_plan,
            self.s_devices,
            self.s_allergies,
        ):
            section(body)
        return doc

    def ii(self, parent: etree._Element, tag: str, value: DocumentId) -> None:
        _el(parent, tag, {"root": value.root, **({"extension": value.extension} if value.extension else {})})

    def record_target(self, doc: etree._Element) -> None:
        p = self.c.patient
        role = _el(_el(doc, "recordTarget"), "patientRole")
        if self.uses_ins:
            _el(role, "id", {"root": p.ins_oid, "extension": p.ins_matricule})
        if p.ipp and p.ipp_oid:
            _el(role, "id", {"root": p.ipp_oid, "extension": p.ipp})
        self.addr(role, p.address)
        if p.phone:
            _el(role, "telecom", {"value": _tel(p.phone), "use": "H"})
        if self.uses_ins:
            _el(role, "telecom", {"value": "mailto:" + patient_mssante_address(p.ins_matricule)})
        patient = _el(role, "patient", {"classCode": "PSN"})
        name = _el(patient, "name")
        _el(name, "family", {"qualifier": "BR"}, p.birth_family_name)
        _el(name, "given", text=p.given_names or p.first_given_name)
        _el(name, "given", {"qualifier": "BR"}, p.first_given_name)
        _el(name, "family", {"qualifier": "CL"}, p.used_family_name or p.birth_family_name)
        _el(name, "given", {"qualifier": "CL"}, p.used_given_name or p.first_given_name)
        _el(
            patient,
            "administrativeGenderCode",
            {"code": p.sex.value, "codeSystem": GENDER, "displayName": GENDER_LABELS[p.sex]},
        )
        _el(patient, "birthTime", {"value": _date(p.birth_date)})
        if p.birth_place_cog:
            _el(_el(_el(_el(patient, "birthplace"), "place"), "addr"), "county", text=p.birth_place_cog)

    def addr(self, parent: etree._Element, address: str) -> None:
        if address.strip():
            addr = _el(parent, "addr")
            for line in _lines(address.replace(",", "\n")):
                _el(addr, "streetAddressLine", text=line)

    def person_name(self, parent: etree._Element, pro: Professional) -> None:
        name = _el(parent, "name")
        if pro.given_name:
            _el(name, "given", text=pro.given_name)
        _el(name, "family", text=pro.family_name or pro.display_name)
        title = TITLE_CODES.get(pro.title.strip(" .").lower())
        if title:  # JDV_J246_Titre_CISIS goes in <suffix>; <prefix> is for the civilité (M, MME)
            _el(name, "suffix", text=title)

    def profession_code(self, parent: etree._Element, pro: Professional) -> None:
        key = pro.profession.lower().replace("-", "_").replace("é", "e").replace(" ", "_") or "medecin"
        if key in PROFESSION_CODES:
            code, display = PROFESSION_CODES[key]
            _el(parent, "code", {"code": code, "codeSystem": PROFESSION, "displayName": display})

    def professional(self, parent: etree._Element, pro: Professional, person_tag: str) -> None:
        _el(parent, "id", {"root": OID_RPPS, "extension": idnat_ps(pro.rpps)})
        self.profession_code(parent, pro)
        self.addr(parent, pro.address)
        if pro.phone:
            _el(parent, "telecom", {"value": _tel(pro.phone), "use": "WP"})
        self.person_name(_el(parent, person_tag), pro)

    def organisation(self, parent: etree._Element, tag: str, industry: bool = False) -> None:
        e = self.c.establishment
        org = _el(parent, tag)
        _el(org, "id", {"root": OID_FINESS, "extension": idnat_struct(e.finess_eg or e.finess_ej)})
        _el(org, "name", text=e.name)
        if e.phone:
            _el(org, "telecom", {"value": _tel(e.phone), "use": "WP"})
        self.addr(org, e.address)
        if industry:
            _el(
                org,
                "standardIndustryClassCode",
                {
                    "code": "ETABLISSEMENT",
                    "codeSystem": PRACTICE_SETTING,
                    "displayName": "Etablissement de santé",
                },
            )

    def recipients(self, doc: etree._Element) -> None:
        for r in self.c.recipients:
            if r.role == RecipientRole.PATIENT:
                continue  # the patient is the recordTarget
            intended = _el(_el(doc, "informationRecipient"), "intendedRecipient")
            if r.rpps:
                _el(intended, "id", {"root": OID_RPPS, "extension": idnat_ps(r.rpps)})
            if r.mssante:
                _el(intended, "telecom", {"value": f"mailto:{r.mssante}"})
            if r.name:
                person = _el(intended, "informationRecipient")
                _el(_el(person, "name"), "family", text=r.name)

    def participant(self, doc: etree._Element, pro: Professional) -> None:
        part = _el(doc, "participant", {"typeCode": "INF"})
        _el(
            part,
            "functionCode",
            {"code": "PCP", "codeSystem": PARTICIPATION_FUNCTION, "displayName": "Médecin traitant"},
        )
        _el(part, "time", {"nullFlavor": "NA"})
        entity = _el(part, "associatedEntity", {"classCode": "PROV"})
        if pro.rpps:
            _el(entity, "id", {"root": OID_RPPS, "extension": idnat_ps(pro.rpps)})
        self.profession_code(entity, pro)
        self.addr(entity, pro.address)
        if pro.phone:
            _el(entity, "telecom", {"value": _tel(pro.phone), "use": "WP"})
        if pro.mssante:
            _el(entity, "telecom", {"value": f"mailto:{pro.mssante}"})
        self.person_name(_el(entity, "associatedPerson"), pro)

    def service_event(self, doc: etree._Element) -> None:
        c = self.c
        event = _el(
            _el(doc, "documentationOf", {"typeCode": "DOC"}),
            "serviceEvent",
            {"classCode": "ACT", "moodCode": "EVN"},
        )
        _el(
            event,
            "code",
            {
                "code": "IMP",
                "codeSystem": ACT_CODE,
                "codeSystemName": "HL7:ActCode",
                "displayName": "Hospitalisation",
            },
        )
        period = _el(event, "effectiveTime")
        _el(period, "low", {"value": _ts(c.admission_at)})
        _el(period, "high", {"value": _ts(c.discharge_at)})
        performer = _el(event, "performer", {"typeCode": "PRF"})
        entity = _el(performer, "assignedEntity")
        pro = (
            c.responsible_physician
            if c.responsible_physician and c.responsible_physician.rpps
            else self.meta.author
        )
        _el(entity, "id", {"root": OID_RPPS, "extension": idnat_ps(pro.rpps)})
        self.profession_code(entity, pro)
        self.person_name(_el(entity, "assignedPerson"), pro)
        org = _el(entity, "representedOrganization")
        _el(org, "name", text=c.establishment.unit_name or c.establishment.name)
        _el(
            org,
            "standardIndustryClassCode",
            {
                "code": "ETABLISSEMENT",
                "codeSystem": PRACTICE_SETTING,
                "displayName": "Etablissement de santé",
            },
        )

    def encounter(self, doc: etree._Element) -> None:
        enc = _el(_el(doc, "componentOf"), "encompassingEncounter")
        period = _el(enc, "effectiveTime")
        _el(period, "low", {"value": _ts(self.c.admission_at)})
        _el(period, "high", {"value": _ts(self.c.discharge_at)})
        e = self.c.establishment
        _el(
            _el(_el(enc, "location"), "healthCareFacility"),
            "code",
            {
                "code": e.facility_type_code,
                "codeSystem": FACILITY_TYPE,
                "displayName": e.facility_type_label.strip(),
            },
        )

    # -- sections -------------------------------------------------------------------------------

    def section(self, body: etree._Element, spec: tuple, title: str) -> tuple[etree._Element, etree._Element]:
        templates, code, display = spec
        sec = _el(_el(body, "component"), "section")
        for root in templates:
            _el(sec, "templateId", {"root": root})
        _el(sec, "id", {"root": self.uid()})
        _el(
            sec,
            "code",
            {"code": code, "codeSystem": LOINC, "codeSystemName": "LOINC", "displayName": display},
        )
        _el(sec, "title", text=title)
        return sec, _el(sec, "text")

    def table(self, text: etree._Element, headers: tuple[str, ...] | None) -> etree._Element:
        table = _el(text, "table", {"border": "0"})
        if headers:
            row = _el(_el(table, "thead"), "tr")
            for h in headers:
                _el(row, "th", text=h)
        return _el(table, "tbody")

    def row(self, tbody: etree._Element, label: str, value: str, ref: str | None = None) -> None:
        tr = _el(tbody, "tr")
        _el(tr, "td", text=label)
        td = _el(tr, "td")
        _narrative(_el(td, "content", {"ID": ref}) if ref else td, value)

    def simple_obs(
        self,
        sec: etree._Element,
        code: str,
        ref: str,
        when: dt.datetime | dt.date,
        value: dict[str, str] | str,
        templates: tuple[str, ...] | None = None,
    ) -> None:
        specific, display = SUMMARY_ENTRIES.get(code, (None, ""))
        obs = self.entry(
            sec, "observation", {"classCode": "OBS", "moodCode": "EVN"}, templates or (*SIMPLE_OBS, specific)
        )
        if code == "GEN-065":
            display = "Statut du document"
        _el(
            obs,
            "code",
            {"code": code, "codeSystem": TA_ASIP, "codeSystemName": "TA_ASIP", "displayName": display},
        )
        _el(_el(obs, "text"), "reference", {"value": f"#{ref}"})
        _el(obs, "statusCode", {"code": "completed"})
        _el(obs, "effectiveTime", {"value": _ts(when) if isinstance(when, dt.datetime) else _date(when)})
        if isinstance(value, str):
            _el(obs, "value", {XSI_TYPE: "ST"}, value)
        else:
            _el(obs, "value", value)

    def s_status(self, body: etree._Element) -> None:
        sec, text = self.section(body, S_STATUS, "Statut du document")
        display, label = DOCUMENT_STATUS[self.meta.status_code]
        self.row(self.table(text, None), "Statut du document", label, "statut-document")
        self.simple_obs(
            sec,
            "GEN-065",
            "statut-document",
            self.meta.effective_time,
            {
                XSI_TYPE: "CD",
                "code": self.meta.status_code,
                "codeSystem": SNOMED,
                "codeSystemName": "SNOMED CT",
                "displayName": display,
            },
            templates=(*SIMPLE_OBS, "1.2.250.1.213.1.1.3.48.16", "1.2.250.1.213.1.1.3.48.16.1"),
        )

    def s_reason(self, body: etree._Element) -> None:
        _, text = self.section(body, S_REASON, "Motif de l'hospitalisation")
        _narrative(_el(text, "paragraph"), self.c.reason)

    def s_summary(self, body: etree._Element) -> None:
        c = self.c
        sec, text = self.section(body, S_SUMMARY, "Synthèse médicale du séjour")
        tbody = self.table(text, None)
        entry_code, entry_system, entry_display = ENTRY_MODE_CODES[c.entry_mode]
        exit_code, exit_system, exit_display = EXIT_MODE_CODES[c.exit_mode]
        exit_label = EXIT_MODE_LABELS[c.exit_mode] + (f" ({c.destination})" if c.destination else "")
        self.row(
            tbody,
            "Modalité et date d'entrée",
            f"{_fr_date(c.admission_at)}, {ENTRY_MODE_LABELS[c.entry_mode]}",
            "modalite-entree",
        )
        self.row(
            tbody,
            "Modalité et date de sortie",
            f"{_fr_date(c.discharge_at)}, {exit_label}",
            "modalite-sortie",
        )
        self.row(tbody, "Synthèse médicale", c.medical_summary, "synthese")
        if c.procedures_and_exams.strip():
            self.row(tbody, "Actes et examens réalisés", c.procedures_and_exams, "actes-examens")
        elif c.no_procedures_and_exams:
            self.row(tbody, "Actes et examens réalisés", NO_PROCEDURES_TEXT, "actes-examens")
        ae = c.adverse_events
        if ae.present is not None:
            self.row(
                tbody,
                "Événements indésirables survenus pendant l'hospitalisation",
                ae.details if ae.present else "Aucun",
                "evenements-indesirables",
            )
        bmr = c.resistant_organisms
        screened = self.bmr_screened
        self.row(
            tbody,
            "Recherche de micro-organismes multirésistants ou émergents (BMR/BHRe)",
            {True: "Effectuée", False: "Non effectuée", None: "Non renseignée"}[screened],
            "bmr-recherche",
        )
        self.row(
            tbody,
            "Micro-organismes multirésistants ou émergents identifiés",
            bmr.details if bmr.present else "Aucun",
            "bmr-identification",
        )
        self.row(
            tbody,
            "Transfusion de produits sanguins",
            f"Oui : {c.transfusion.details}" if c.transfusion.present else "Non",
            "transfusion",
        )
        if c.transfusion_incident.strip():
            self.row(tbody, "Accident transfusionnel", c.transfusion_incident, "accident-transfusionnel")
        self.row(
            tbody,
            "Administration de dérivés du sang",
            f"Oui : {c.blood_derivatives.details}" if c.blood_derivatives.present else "Non",
            "derives-sang",
        )
        if c.blood_derivatives_incident.strip():
            self.row(
                tbody,
                "Événement indésirable suite à l'administration de dérivés du sang",
                c.blood_derivatives_incident,
                "derives-sang-evenement",
            )
        dm = c.implanted_devices
        if dm.present is not None:
            self.row(
                tbody,
                "Dispositif médical implanté",
                "Oui (voir la section Dispositifs médicaux)" if dm.present else "Non",
            )

        end = c.discharge_at
        self.simple_obs(
            sec,
            "ORG-070",
            "modalite-entree",
            c.admission_at,
            {XSI_TYPE: "CE", "code": entry_code, "codeSystem": entry_system, "displayName": entry_display},
        )
        self.simple_obs(
            sec,
            "ORG-074",
            "modalite-sortie",
            end,
            {XSI_TYPE: "CE", "code": exit_code, "codeSystem": exit_system, "displayName": exit_display},
        )
        self.simple_obs(sec, "MED-142", "synthese", end, " ".join(_lines(c.medical_summary)))
        if ae.present is not None:
            self.simple_obs(
                sec,
                "MED-143",
                "evenements-indesirables",
                end,
                " ".join(_lines(ae.details)) if ae.present else "Aucun",
            )
        searched = (
            {XSI_TYPE: "BL", "nullFlavor": "NI"}
            if screened is None
            else {
                XSI_TYPE: "BL",
                "value": _bool(screened),
            }
        )
        self.simple_obs(sec, "MED-309", "bmr-recherche", end, searched)
        if bmr.present:
            self.simple_obs(sec, "MED-144", "bmr-identification", end, " ".join(_lines(bmr.details)))
        self.simple_obs(
            sec, "MED-145", "transfusion", end, {XSI_TYPE: "BL", "value": _bool(c.transfusion.present)}
        )
        if c.transfusion_incident.strip():
            self.simple_obs(
                sec, "MED-146", "accident-transfusionnel", end, " ".join(_lines(c.transfusion_incident))
            )
        self.simple_obs(
            sec, "MED-147", "derives-sang", end, {XSI_TYPE: "BL", "value": _bool(c.blood_derivatives.present)}
        )
        if c.blood_derivatives_incident.strip():
            self.simple_obs(
                sec,
                "MED-148",
                "derives-sang-evenement",
                end,
                " ".join(_lines(c.blood_derivatives_incident)),
            )

    @property
    def bmr_screened(self) -> bool | None:
        """MED-309 "Recherche de micro-organismes multi-résistants ou émergents effectuée" (BL).

        `resistant_organisms_screened` when answered. Letters written before that field existed
        leave it None: organisms identified (`resistant_organisms.present`) imply a search, so
        True; otherwise the letter does not say, and MED-309 carries `nullFlavor="NI"` rather
        than a "false" the physician never wrote. The entry stays (1..1, ldl-ses-cda.md §4 item
        1): no ANS rule checks its value (E_rechercheMicroOrganismes_fr only asks for a `value`),
        and a BL with nullFlavor NI, UNK, NASK or NAV gave 0 findings with LdlSesValidator, core
        and full=True (StrucMin). The shape "screening_not_answered" of tests/documents/test_cda.py
        keeps it checked. Refusing the letter instead would block every letter saved before the
        question existed.
        """
        if self.c.resistant_organisms_screened is not None:
            return self.c.resistant_organisms_screened
        return True if self.c.resistant_organisms.present else None

    def medication_section(
        self,
        body: etree._Element,
        spec: tuple,
        title: str,
        lines: list[tuple[int, MedicationLine]],
        none_text: str | None,
    ) -> None:
        sec, text = self.section(body, spec, title)
        if not lines:
            _el(_el(text, "paragraph"), "content", {"ID": "aucun-traitement"}, none_text)
            self.no_medication(sec)
            return
        tbody = self.table(text, MEDICATION_TABLE_HEADERS)
        for i, m in lines:
            ref = f"med-{i + 1}"
            tr = _el(tbody, "tr")
            _el(_el(tr, "td"), "content", {"ID": ref}, m.medicine)
            comment = " ".join(x for x in (m.reason, m.comment) if x.strip())
            for value in (
                MEDICATION_STATUS_LABELS[m.status],
                m.dosage or "non précisée",
                m.route,
                m.duration or ("—" if not m.taken_at_home else "non précisée"),
                m.usual_treatment,
                comment,
            ):
                _el(tr, "td", text=value)
            self.medication(sec, m, ref)

    def medication(self, sec: etree._Element, m: MedicationLine, ref: str) -> None:
        sa = self.entry(
            sec, "substanceAdministration", {"classCode": "SBADM", "moodCode": "EVN"}, MEDICATION_TEMPLATES
        )
        _el(
            sa,
            "code",
            {
                "code": "DRUG",
                "codeSystem": ACT_CODE,
                "codeSystemName": "HL7:ActCode",
                "displayName": "Médicament",
            },
        )
        _el(_el(sa, "text"), "reference", {"value": f"#{ref}"})
        _el(sa, "statusCode", {"code": "completed"})
        product = _el(_el(sa, "consumable"), "manufacturedProduct")
        for root in PRODUCT_TEMPLATES:
            _el(product, "templateId", {"root": root})
        material = _el(product, "manufacturedMaterial")
        if m.cis:
            code = _el(
                material,
                "code",
                {"code": m.cis, "codeSystem": CIS, "codeSystemName": "CIS", "displayName": m.medicine},
            )
        else:
            code = _el(material, "code", {"nullFlavor": "UNK"})
        _el(_el(code, "originalText"), "reference", {"value": f"#{ref}"})
        if m.atc:
            _el(code, "translation", {"code": m.atc, "codeSystem": ATC, "codeSystemName": "ATC"})
        _el(material, "name", text=m.medicine)

    def no_medication(self, sec: etree._Element) -> None:
        """Explicit "no discharge medication" (JDV_AbsentOrUnknownMedication_CISIS)."""
        sa = self.entry(
            sec, "substanceAdministration", {"classCode": "SBADM", "moodCode": "EVN"}, MEDICATION_TEMPLATES
        )
        _el(
            sa,
            "code",
            {
                "code": "no-known-medications",
                "codeSystem": ABSENT_UNKNOWN,
                "displayName": "Pas de traitement médicamenteux connu",
            },
        )
        _el(_el(sa, "text"), "reference", {"value": "#aucun-traitement"})
        _el(sa, "statusCode", {"code": "completed"})
        product = _el(_el(sa, "consumable"), "manufacturedProduct")
        for root in PRODUCT_TEMPLATES:
            _el(product, "templateId", {"root": root})
        material = _el(product, "manufacturedMaterial")
        _el(material, "code", {"nullFlavor": "NA"})
        _el(material, "name", {"nullFlavor": "NA"})

    def s_stopped(self, body: etree._Element) -> None:
        lines = [(i, m) for i, m in enumerate(self.c.medications) if not m.taken_at_home]
        if lines:
            self.medication_section(
                body, S_STOPPED, "Traitements arrêtés ou suspendus durant le séjour", lines, None
            )

    def s_discharge(self, body: etree._Element) -> None:
        lines = [(i, m) for i, m in enumerate(self.c.medications) if m.taken_at_home]
        self.medication_section(
            body, S_DISCHARGE, "Traitements à la sortie", lines, "Aucun traitement médicamenteux à la sortie."
        )

    def s_results(self, body: etree._Element) -> None:
        c = self.c
        if not c.pending_results and not c.no_pending_results:
            return
        _, text = self.section(body, S_RESULTS, "Résultats d'examens / Autres informations attendus")
        if not c.pending_results:
            _el(text, "paragraph", text="Aucun résultat d'examen en attente.")
            return
        tbody = self.table(text, ("Examen ou information attendu", "Date prévue", "Transmis par"))
        for i, r in enumerate(c.pending_results):
            tr = _el(tbody, "tr")
            _el(_el(tr, "td"), "content", {"ID": f"resultat-{i + 1}"}, r.description)
            _el(tr, "td", text=_fr_date(r.expected_on))
            _el(tr, "td", text=r.followed_by)

    def s_plan(self, body: etree._Element) -> None:
        c = self.c
        if not c.follow_up and not c.no_follow_up and not c.emergency_contact.strip():
            return
        sec, text = self.section(body, S_PLAN, "Suites à donner")
        if c.emergency_contact.strip():
            par = _el(text, "paragraph")
            _el(par, "content", {"styleCode": "Bold"}, "En cas d'urgence, appeler : ")
            par[-1].tail = c.emergency_contact.strip()
        if not c.follow_up:
            _el(text, "paragraph", text="Aucune suite particulière.")
            return
        tbody = self.table(text, ("Type", "Description", "Date", "Avec", "Orientation"))
        for i, f in enumerate(c.follow_up):
            ref = f"suite-{i + 1}"
            tr = _el(tbody, "tr")
            _el(tr, "td", text=FOLLOW_UP_LABELS[f.kind])
            _el(_el(tr, "td"), "content", {"ID": ref}, f.description)
            _el(tr, "td", text=_fr_date(f.date))
            _el(tr, "td", text=f.with_whom)
            _el(tr, "td", text=f.orientation.value if f.orientation else "")
        for i, f in enumerate(c.follow_up):
            obs = self.entry(sec, "observation", {"classCode": "OBS", "moodCode": "INT"}, FOLLOW_UP_TEMPLATES)
            _el(
                obs,
                "code",
                {
                    "code": "ORG-064",
                    "codeSystem": TA_ASIP,
                    "codeSystemName": "TA_ASIP",
                    "displayName": "Demande d'examen ou de suivi",
                },
            )
            _el(_el(obs, "text"), "reference", {"value": f"#suite-{i + 1}"})
            _el(obs, "statusCode", {"code": "active"})
            _el(obs, "effectiveTime", {"value": _date(f.date)} if f.date else {"nullFlavor": "UNK"})
            _el(obs, "value", {XSI_TYPE: "ST"}, f"{FOLLOW_UP_LABELS[f.kind]} : {f.description}")

    def s_devices(self, body: etree._Element) -> None:
        c = self.c
        if not c.implanted_devices.present:
            return
        sec, text = self.section(body, S_DEVICES, "Dispositifs médicaux")
        tbody = self.table(text, ("Date d'implantation", "Dispositif", "Identifiant unique (IUD)", "Lot"))
        devices = [(d.description, d.udi, d.lot, d.implanted_on) for d in c.devices] or [
            (c.implanted_devices.details, "", "", None)
        ]
        for i, (description, udi, lot, on) in enumerate(devices):
            tr = _el(tbody, "tr")
            _el(tr, "td", text=_fr_date(on))
            _el(_el(tr, "td"), "content", {"ID": f"dm-{i + 1}"}, description)
            _el(tr, "td", text=udi)
            _el(tr, "td", text=lot)
        if c.devices and c.implanted_devices.details.strip():
            _narrative(_el(text, "paragraph"), c.implanted_devices.details)
        for i, (_, udi, _lot, on) in enumerate(devices):
            supply = self.entry(sec, "supply", {"classCode": "SPLY", "moodCode": "EVN"}, DEVICE_TEMPLATES)
            period = _el(supply, "effectiveTime", {XSI_TYPE: "IVL_TS"})
            _el(period, "low", {"value": _date(on)} if on else {"nullFlavor": "UNK"})
            role = _el(
                _el(supply, "participant", {"typeCode": "DEV"}), "participantRole", {"classCode": "MANU"}
            )
            _el(role, "id", {"nullFlavor": "UNK"} if not udi else {"root": "1.3.160", "extension": udi})
            device = _el(role, "playingDevice", {"classCode": "DEV", "determinerCode": "INSTANCE"})
            code = _el(device, "code", {"nullFlavor": "UNK"})
            _el(_el(code, "originalText"), "reference", {"value": f"#dm-{i + 1}"})

    def s_allergies(self, body: etree._Element) -> None:
        c = self.c
        if c.allergies.present is None:
            return
        sec, text = self.section(body, S_ALLERGIES, "Allergies identifiées pendant le séjour")
        par = _el(text, "paragraph")
        if c.allergies.present:
            _narrative(_el(par, "content", {"ID": "allergies"}), c.allergies.details)
        else:
            _el(
                par,
                "content",
                {"ID": "allergies"},
                "Aucune allergie ni intolérance identifiée pendant le séjour.",
            )
        act = self.entry(sec, "act", {"classCode": "ACT", "moodCode": "EVN"}, ALLERGY_LIST_TEMPLATES)
        _el(act, "code", {"nullFlavor": "NA"})
        _el(act, "statusCode", {"code": "active"})
        _el(_el(act, "effectiveTime"), "low", {"value": _ts(c.discharge_at)})
        attrs = {"classCode": "OBS", "moodCode": "EVN"}
        if not c.allergies.present:
            attrs["negationInd"] = "true"  # "no known allergy": the adverse-reaction propensity is negated
        obs = _el(
            _el(act, "entryRelationship", {"typeCode": "SUBJ", "inversionInd": "false"}), "observation", attrs
        )
        for root in ALLERGY_TEMPLATES:
            _el(obs, "templateId", {"root": root})
        _el(obs, "id", {"root": self.uid()})
        code, system, display = ALLERGY_TYPE
        _el(
            obs,
            "code",
            {"code": code, "codeSystem": system, "codeSystemName": "SNOMED CT", "displayName": display},
        )
        _el(_el(obs, "text"), "reference", {"value": "#allergies"})
        _el(obs, "statusCode", {"code": "completed"})
        _el(_el(obs, "effectiveTime", {XSI_TYPE: "IVL_TS"}), "low", {"nullFlavor": "UNK"})
        value = _el(obs, "value", {XSI_TYPE: "CD"})
        _el(_el(value, "originalText"), "reference", {"value": "#allergies"})


def _bool(value: bool | None) -> str:
    return "true" if value else "false"


def build_cda_tree(content: LetterContent, meta: DocumentMeta) -> etree._Element:
    """The CDA as an lxml element (for callers that validate without re-parsing)."""
    return _Builder(content, meta).build()


def build_cda(content: LetterContent, meta: DocumentMeta) -> bytes:
    """The LDL-SES 2022.01 CDA of a letter, UTF-8 with an XML declaration.

    Raises `CdaBuildError` (French messages, one per missing item) when required data is missing.
    """
    return etree.tostring(build_cda_tree(content, meta), xml_declaration=True, encoding="UTF-8")


__all__ = ["CdaBuildError", "DocumentId", "DocumentMeta", "build_cda", "build_cda_tree"]
